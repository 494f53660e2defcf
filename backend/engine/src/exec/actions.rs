//! One function per action: who may do it, when, and what it changes.

use serde_json::{Map, Value, json};

use super::run::{Line, Run};
use super::state::{
    Added, Arrival, CallStatus, HistoryAction, InstanceStatus, ReturnPoint, Slot, Task, TaskKind, TaskResult,
    TaskStatus, UndoPoint, Wait,
};
use super::{Action, Event, ExecError, NotifyReason, ResubmitMode, ReturnTarget, SignerPosition};
use crate::model::{NodeKind, TaskId, UserId};

pub(crate) fn dispatch(run: &mut Run<'_>) -> Result<(), ExecError> {
    let cmd = run.cmd;
    // An approval can be taken back only until anybody else acts; remarks do not count.
    let undo = run.inst.undo.take();
    let takes_patch = matches!(
        cmd.action,
        Action::Submit { .. }
            | Action::Resubmit { .. }
            | Action::Approve { .. }
            | Action::Reject { .. }
            | Action::Return { .. }
    );
    if cmd.form_patch.is_some() && !takes_patch {
        return Err(ExecError::FormPatchNotAllowed);
    }
    match &cmd.action {
        Action::Submit { picks } => submit(run, picks),
        Action::Resubmit { mode } => resubmit(run, *mode),
        Action::Withdraw => withdraw(run),
        Action::Approve { task } => approve(run, *task),
        Action::Reject { task } => reject(run, *task),
        Action::Return { task, to } => return_task(run, *task, to),
        Action::WithdrawTask { task } => withdraw_task(run, *task, undo),
        Action::Transfer { task, to } => transfer(run, *task, to),
        Action::Delegate { task, to } => delegate(run, *task, to),
        Action::AddSigner { task, users, position } => add_signer(run, *task, users, *position),
        Action::RemoveSigner { task, user } => remove_signer(run, *task, user),
        Action::Claim { task } => claim(run, *task),
        Action::Urge => {
            urge(run)?;
            run.inst.undo = undo;
            Ok(())
        }
        Action::Cc { users } => {
            cc(run, users)?;
            run.inst.undo = undo;
            Ok(())
        }
        Action::Comment { task } => {
            comment(run, *task)?;
            run.inst.undo = undo;
            Ok(())
        }
        Action::ServiceResult { call_id, ok, detail } => service_result(run, *call_id, *ok, detail),
    }?;
    run.drain()
}

fn require_status(run: &Run<'_>, status: InstanceStatus) -> Result<(), ExecError> {
    if run.inst.status == status { Ok(()) } else { Err(ExecError::WrongState(run.inst.status)) }
}

fn require_applicant(run: &Run<'_>) -> Result<(), ExecError> {
    if run.cmd.actor == run.inst.applicant { Ok(()) } else { Err(ExecError::NotApplicant) }
}

fn is_admin(run: &Run<'_>) -> bool {
    run.def.admins.contains(&run.cmd.actor)
}

/// Whether the actor ever had a part in the affair (applicant, assignee, candidate, admin).
fn is_participant(run: &Run<'_>) -> bool {
    let me = &run.cmd.actor;
    me == &run.inst.applicant
        || is_admin(run)
        || run.inst.tasks.iter().any(|t| t.assignee.as_ref() == Some(me) || t.candidates.contains(me))
}

/// A pending task of a running affair assigned to the actor.
fn own_pending_task(run: &Run<'_>, id: TaskId) -> Result<Task, ExecError> {
    require_status(run, InstanceStatus::Running)?;
    let task = run.inst.task(id).ok_or(ExecError::UnknownTask)?;
    if task.status != TaskStatus::Pending {
        return Err(ExecError::TaskNotPending);
    }
    if task.assignee.as_ref() != Some(&run.cmd.actor) {
        return Err(ExecError::NotAssignee);
    }
    Ok(task.clone())
}

fn not_delegated(task: &Task) -> Result<(), ExecError> {
    if matches!(task.kind, TaskKind::Delegated { .. }) { Err(ExecError::DelegatedTask) } else { Ok(()) }
}

/// Where a task's slot is in its token's work.
fn slot_of(run: &Run<'_>, task: &Task) -> Option<(usize, usize)> {
    let tok = run.inst.tokens.iter().find(|t| t.id == task.token)?;
    let Wait::Tasks(work) = &tok.wait else { return None };
    work.groups
        .iter()
        .enumerate()
        .find_map(|(g, group)| group.iter().position(|s| s.task == Some(task.id)).map(|s| (g, s)))
}

fn slot_mut<'r>(run: &'r mut Run<'_>, token: u32, at: (usize, usize)) -> Option<&'r mut Slot> {
    run.work_mut(token).and_then(|w| w.groups.get_mut(at.0)).and_then(|g| g.get_mut(at.1))
}

/// Apply a form patch; `node` limits it to the fields the node makes editable.
fn apply_patch(run: &mut Run<'_>, node: Option<&crate::model::NodeId>) -> Result<(Vec<String>, Value), ExecError> {
    let Some(patch) = &run.cmd.form_patch else { return Ok((Vec::new(), Value::Null)) };
    if let Some(node) = node {
        let node = run.node(node)?;
        let editable = matches!(node.kind, NodeKind::UserTask { .. });
        if let Some(field) = patch.keys().find(|k| !editable || !node.access(k).is_editable()) {
            return Err(ExecError::FieldNotEditable(field.clone()));
        }
    }
    if !run.inst.form.is_object() {
        run.inst.form = Value::Object(Map::new());
    }
    let mut changed = Vec::new();
    let mut detail = Map::new();
    if let Value::Object(form) = &mut run.inst.form {
        for (k, v) in patch {
            let old = form.get(k).cloned().unwrap_or(Value::Null);
            if &old != v {
                changed.push(k.clone());
                detail.insert(k.clone(), json!({ "from": old, "to": v }));
                form.insert(k.clone(), v.clone());
            }
        }
    }
    let detail = if detail.is_empty() { Value::Null } else { json!({ "fields": detail }) };
    Ok((changed, detail))
}

fn start_arrival(run: &Run<'_>) -> Result<Arrival, ExecError> {
    let start = run.def.start().ok_or_else(|| ExecError::UnknownNode("start".into()))?;
    Ok(Arrival { node: start.id.clone(), via: None, stack: Vec::new(), trail: Vec::new() })
}

fn submit(run: &mut Run<'_>, picks: &std::collections::BTreeMap<String, Vec<UserId>>) -> Result<(), ExecError> {
    require_status(run, InstanceStatus::Draft)?;
    require_applicant(run)?;
    let (changed, detail) = apply_patch(run, None)?;
    run.inst.picks = picks.clone();
    run.inst.status = InstanceStatus::Running;
    run.inst.submitted_at = Some(run.now);
    run.inst.due_at = run.def.time_limit.map(|l| run.due.due(run.now, l));
    run.inst.handled = false;
    let mut line = Line::new(HistoryAction::Submitted).actor(&run.cmd.actor).comment(run.cmd.comment.as_ref());
    line.changed_fields = changed;
    run.log(line.detail(detail));
    let a = start_arrival(run)?;
    run.enqueue(a);
    Ok(())
}

fn resubmit(run: &mut Run<'_>, mode: ResubmitMode) -> Result<(), ExecError> {
    require_status(run, InstanceStatus::Returned)?;
    require_applicant(run)?;
    let (changed, detail) = apply_patch(run, None)?;
    let point = run.inst.returned.take();
    run.inst.status = InstanceStatus::Running;
    run.inst.handled = false;
    let mut line = Line::new(HistoryAction::Resubmitted).actor(&run.cmd.actor).comment(run.cmd.comment.as_ref());
    line.changed_fields = changed;
    let mut detail = if detail.is_null() { json!({}) } else { detail };
    detail["mode"] = json!(mode);
    run.log(line.detail(detail));
    match (mode, point) {
        (ResubmitMode::BackToReturner, Some(point)) if !point.resume.is_empty() => {
            for a in point.resume {
                run.enqueue(a);
            }
        }
        _ => {
            let a = start_arrival(run)?;
            run.enqueue(a);
        }
    }
    Ok(())
}

fn withdraw(run: &mut Run<'_>) -> Result<(), ExecError> {
    require_applicant(run)?;
    match run.inst.status {
        InstanceStatus::Running if !run.inst.handled => {}
        InstanceStatus::Returned => {}
        InstanceStatus::Running => return Err(ExecError::CannotWithdraw),
        other => return Err(ExecError::WrongState(other)),
    }
    run.log(Line::new(HistoryAction::Withdrawn).actor(&run.cmd.actor).comment(run.cmd.comment.as_ref()));
    run.finish(InstanceStatus::Withdrawn, None);
    Ok(())
}

/// Log a handler's action on a task, with the form patch applied.
fn log_task_action(run: &mut Run<'_>, action: HistoryAction, task: &Task, extra: Value) -> Result<(), ExecError> {
    let opinion_required = matches!(run.node(&task.node)?.kind, NodeKind::UserTask { opinion_required: true, .. });
    if opinion_required && run.cmd.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(ExecError::CommentRequired);
    }
    let (changed, detail) = apply_patch(run, Some(&task.node))?;
    let mut detail = if detail.is_null() { json!({}) } else { detail };
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            detail[k] = v;
        }
    }
    let detail = if detail.as_object().is_some_and(Map::is_empty) { Value::Null } else { detail };
    let mut line = Line::new(action)
        .actor(&run.cmd.actor)
        .node(&task.node)
        .task(task.id)
        .comment(run.cmd.comment.as_ref())
        .detail(detail);
    line.changed_fields = changed;
    run.log(line);
    run.inst.handled = true;
    Ok(())
}

fn approve(run: &mut Run<'_>, id: TaskId) -> Result<(), ExecError> {
    let task = own_pending_task(run, id)?;
    let before = run.inst.tokens.clone();
    let at = slot_of(run, &task).ok_or(ExecError::TaskNotPending)?;
    log_task_action(run, HistoryAction::Approved, &task, Value::Null)?;
    run.close_task(id, TaskStatus::Done, TaskResult::Approved);
    let actor = run.cmd.actor.clone();
    if let TaskKind::Delegated { delegator } = &task.kind {
        // Handled by the delegate: the task goes back to the delegator.
        if let Some(slot) = slot_mut(run, task.token, at) {
            slot.task = None;
        }
        run.log(Line::new(HistoryAction::DelegationReturned).actor(delegator).node(&task.node).task(id));
        return run.settle(task.token, false);
    }
    if let Some(slot) = slot_mut(run, task.token, at) {
        slot.approved_by = Some(actor);
    }
    run.settle(task.token, true)?;
    run.drain()?;
    if run.inst.status == InstanceStatus::Running {
        run.inst.undo = Some(UndoPoint { task: id, tokens: before });
    }
    Ok(())
}

fn reject(run: &mut Run<'_>, id: TaskId) -> Result<(), ExecError> {
    let task = own_pending_task(run, id)?;
    not_delegated(&task)?;
    log_task_action(run, HistoryAction::Rejected, &task, Value::Null)?;
    run.close_task(id, TaskStatus::Done, TaskResult::Rejected);
    run.finish(InstanceStatus::Rejected, Some(&task.node));
    Ok(())
}

fn return_task(run: &mut Run<'_>, id: TaskId, to: &ReturnTarget) -> Result<(), ExecError> {
    let task = own_pending_task(run, id)?;
    not_delegated(&task)?;
    let tok = run.inst.tokens.iter().find(|t| t.id == task.token).cloned().ok_or(ExecError::TaskNotPending)?;
    let start = run.def.start().map(|n| n.id.clone());
    // The trail index of the target; `None` = the applicant.
    let target = match to {
        ReturnTarget::Applicant => None,
        ReturnTarget::Previous => tok.trail.iter().rposition(|e| e.node != tok.node),
        ReturnTarget::Node(n) if Some(n) == start.as_ref() => None,
        ReturnTarget::Node(n) if n == &tok.node => return Err(ExecError::InvalidTarget),
        ReturnTarget::Node(n) => Some(tok.trail.iter().rposition(|e| &e.node == n).ok_or(ExecError::InvalidTarget)?),
    };
    let target_desc = match target {
        None => json!({ "to": "applicant" }),
        Some(i) => json!({ "to": tok.trail[i].node }),
    };
    log_task_action(run, HistoryAction::Returned, &task, target_desc)?;
    run.close_task(id, TaskStatus::Done, TaskResult::Returned);
    match target {
        None => {
            let resume: Vec<Arrival> = run
                .inst
                .tokens
                .iter()
                .map(|t| Arrival {
                    node: t.node.clone(),
                    via: t.via.clone(),
                    stack: t.stack.clone(),
                    trail: t.trail.clone(),
                })
                .collect();
            run.cancel_all_tokens();
            run.inst.status = InstanceStatus::Returned;
            run.inst.returned =
                Some(ReturnPoint { by: run.cmd.actor.clone(), node: task.node.clone(), task: id, at: run.now, resume });
            run.events.push(Event::Notify { users: vec![run.inst.applicant.clone()], reason: NotifyReason::Returned });
        }
        Some(i) => {
            let entry = tok.trail[i].clone();
            let depth = entry.depth as usize;
            if depth >= tok.stack.len() {
                run.cancel_token(tok.id);
            } else {
                // Cancel every token of the fork opened after the target node.
                let frame = tok.stack[depth].id;
                let doomed: Vec<u32> = run
                    .inst
                    .tokens
                    .iter()
                    .filter(|t| t.stack.get(depth).is_some_and(|f| f.id == frame))
                    .map(|t| t.id)
                    .collect();
                for t in doomed {
                    run.cancel_token(t);
                }
            }
            run.enqueue(Arrival {
                node: entry.node,
                via: None,
                stack: tok.stack[..depth.min(tok.stack.len())].to_vec(),
                trail: tok.trail[..i].to_vec(),
            });
        }
    }
    Ok(())
}

fn withdraw_task(run: &mut Run<'_>, id: TaskId, undo: Option<UndoPoint>) -> Result<(), ExecError> {
    require_status(run, InstanceStatus::Running)?;
    let task = run.inst.task(id).cloned().ok_or(ExecError::UnknownTask)?;
    if task.assignee.as_ref() != Some(&run.cmd.actor) {
        return Err(ExecError::NotAssignee);
    }
    let Some(undo) = undo.filter(|u| u.task == id) else { return Err(ExecError::CannotWithdraw) };
    let mut tokens = undo.tokens;
    // Slots keep the tasks still pending; the others get new tasks when the tokens settle.
    let mut keep: Vec<TaskId> = Vec::new();
    for tok in &mut tokens {
        if let Wait::Tasks(work) = &mut tok.wait {
            for slot in work.groups.iter_mut().flatten() {
                match slot.task {
                    Some(t) if run.is_pending(t) => keep.push(t),
                    _ => slot.task = None,
                }
            }
        }
    }
    let close: Vec<TaskId> = run.inst.pending_tasks().map(|t| t.id).filter(|t| !keep.contains(t)).collect();
    for t in close {
        run.close_task(t, TaskStatus::Cancelled, TaskResult::Cancelled);
    }
    let waiting: Vec<u32> =
        tokens.iter().filter_map(|t| if let Wait::Service { call } = t.wait { Some(call) } else { None }).collect();
    for c in run.inst.calls.iter_mut().filter(|c| c.status == CallStatus::Pending && !waiting.contains(&c.id)) {
        c.status = CallStatus::Cancelled;
    }
    let ids: Vec<u32> = tokens.iter().map(|t| t.id).collect();
    run.inst.tokens = tokens;
    let line = Line::new(HistoryAction::ApprovalWithdrawn)
        .actor(&run.cmd.actor)
        .node(&task.node)
        .task(id)
        .comment(run.cmd.comment.as_ref());
    run.log(line);
    run.inst.handled = true;
    for t in ids {
        run.settle(t, false)?;
    }
    Ok(())
}

fn transfer(run: &mut Run<'_>, id: TaskId, to: &UserId) -> Result<(), ExecError> {
    require_status(run, InstanceStatus::Running)?;
    let task = run.inst.task(id).cloned().ok_or(ExecError::UnknownTask)?;
    if task.status != TaskStatus::Pending {
        return Err(ExecError::TaskNotPending);
    }
    if task.assignee.as_ref() != Some(&run.cmd.actor) && !is_admin(run) {
        return Err(ExecError::NotAssignee);
    }
    not_delegated(&task)?;
    if task.assignee.as_ref() == Some(to) {
        return Err(ExecError::InvalidUsers);
    }
    let at = slot_of(run, &task).ok_or(ExecError::TaskNotPending)?;
    log_task_action(run, HistoryAction::Transferred, &task, json!({ "to": to }))?;
    run.close_task(id, TaskStatus::Done, TaskResult::Transferred);
    let original = task.original_assignee.clone().or(task.assignee.clone());
    let new =
        run.create_task(task.token, Some(to.clone()), original, Vec::new(), task.kind.clone(), task.order, false)?;
    if let Some(slot) = slot_mut(run, task.token, at) {
        slot.user = Some(to.clone());
        slot.candidates.clear();
        slot.task = Some(new);
    }
    Ok(())
}

fn delegate(run: &mut Run<'_>, id: TaskId, to: &UserId) -> Result<(), ExecError> {
    let task = own_pending_task(run, id)?;
    not_delegated(&task)?;
    if to == &run.cmd.actor {
        return Err(ExecError::InvalidUsers);
    }
    let at = slot_of(run, &task).ok_or(ExecError::TaskNotPending)?;
    log_task_action(run, HistoryAction::Delegated, &task, json!({ "to": to }))?;
    run.close_task(id, TaskStatus::Done, TaskResult::Delegated);
    let kind = TaskKind::Delegated { delegator: run.cmd.actor.clone() };
    let new = run.create_task(
        task.token,
        Some(to.clone()),
        Some(run.cmd.actor.clone()),
        Vec::new(),
        kind,
        task.order,
        false,
    )?;
    if let Some(slot) = slot_mut(run, task.token, at) {
        slot.task = Some(new);
    }
    Ok(())
}

fn add_signer(run: &mut Run<'_>, id: TaskId, users: &[UserId], position: SignerPosition) -> Result<(), ExecError> {
    let task = own_pending_task(run, id)?;
    not_delegated(&task)?;
    let (g, s) = slot_of(run, &task).ok_or(ExecError::TaskNotPending)?;
    let signing: Vec<UserId> = run
        .work_mut(task.token)
        .map(|w| w.groups.iter().flatten().filter(|s| s.approved_by.is_none()).filter_map(|s| s.user.clone()).collect())
        .unwrap_or_default();
    let mut new: Vec<UserId> = Vec::new();
    for u in users {
        if u == &run.cmd.actor || signing.contains(u) || new.contains(u) {
            return Err(ExecError::InvalidUsers);
        }
        new.push(u.clone());
    }
    if new.is_empty() {
        return Err(ExecError::InvalidUsers);
    }
    log_task_action(run, HistoryAction::SignersAdded, &task, json!({ "users": new, "position": position }))?;
    let by = run.cmd.actor.clone();
    let added = new.len();
    let slots = new.into_iter().map(|u| Slot {
        user: Some(u),
        candidates: Vec::new(),
        task: None,
        approved_by: None,
        added: Some(Added { by: by.clone(), position }),
    });
    let at = match position {
        SignerPosition::Before => s,
        SignerPosition::After => s + 1,
    };
    if let Some(w) = run.work_mut(task.token) {
        w.groups[g].splice(at..at, slots);
    }
    if position == SignerPosition::Before {
        // The actor's turn comes again after the added signers.
        run.close_task(id, TaskStatus::Done, TaskResult::SignersAdded);
        if let Some(slot) = slot_mut(run, task.token, (g, s + added)) {
            slot.task = None;
        }
    }
    run.settle(task.token, false)
}

fn remove_signer(run: &mut Run<'_>, id: TaskId, user: &UserId) -> Result<(), ExecError> {
    require_status(run, InstanceStatus::Running)?;
    let task = run.inst.task(id).cloned().ok_or(ExecError::UnknownTask)?;
    if task.assignee.as_ref() != Some(&run.cmd.actor) {
        return Err(ExecError::NotAssignee);
    }
    let actor = run.cmd.actor.clone();
    let work = run.work_mut(task.token).ok_or(ExecError::TaskNotPending)?;
    let found = work.groups.iter().enumerate().find_map(|(g, group)| {
        group
            .iter()
            .position(|s| {
                s.user.as_ref() == Some(user)
                    && s.approved_by.is_none()
                    && s.added.as_ref().is_some_and(|a| a.by == actor)
            })
            .map(|s| (g, s))
    });
    let (g, s) = found.ok_or(ExecError::NotAddedSigner)?;
    let removed = work.groups[g].remove(s);
    let line = Line::new(HistoryAction::SignerRemoved)
        .actor(&actor)
        .node(&task.node)
        .task(id)
        .comment(run.cmd.comment.as_ref())
        .detail(json!({ "user": user }));
    run.log(line);
    run.inst.handled = true;
    if let Some(t) = removed.task {
        run.close_task(t, TaskStatus::Cancelled, TaskResult::Cancelled);
    }
    run.settle(task.token, false)
}

fn claim(run: &mut Run<'_>, id: TaskId) -> Result<(), ExecError> {
    require_status(run, InstanceStatus::Running)?;
    let task = run.inst.task(id).cloned().ok_or(ExecError::UnknownTask)?;
    if task.status != TaskStatus::Pending {
        return Err(ExecError::TaskNotPending);
    }
    if task.assignee.is_some() {
        return Err(ExecError::NotGroupTask);
    }
    if !task.candidates.contains(&run.cmd.actor) {
        return Err(ExecError::NotAssignee);
    }
    let at = slot_of(run, &task).ok_or(ExecError::TaskNotPending)?;
    log_task_action(run, HistoryAction::Claimed, &task, Value::Null)?;
    run.close_task(id, TaskStatus::Done, TaskResult::Claimed);
    let me = run.cmd.actor.clone();
    let new = run.create_task(task.token, Some(me.clone()), None, Vec::new(), task.kind.clone(), task.order, false)?;
    if let Some(slot) = slot_mut(run, task.token, at) {
        slot.user = Some(me);
        slot.candidates.clear();
        slot.task = Some(new);
    }
    Ok(())
}

fn urge(run: &mut Run<'_>) -> Result<(), ExecError> {
    require_status(run, InstanceStatus::Running)?;
    if run.cmd.actor != run.inst.applicant && !is_admin(run) {
        return Err(ExecError::Forbidden);
    }
    let mut users: Vec<UserId> = Vec::new();
    for t in run.inst.pending_tasks() {
        for u in t.assignee.iter().chain(t.candidates.iter()) {
            if !users.contains(u) {
                users.push(u.clone());
            }
        }
    }
    run.log(
        Line::new(HistoryAction::Urged)
            .actor(&run.cmd.actor)
            .comment(run.cmd.comment.as_ref())
            .detail(json!({ "users": users })),
    );
    if !users.is_empty() {
        run.events.push(Event::Notify { users, reason: NotifyReason::Urge });
    }
    Ok(())
}

fn cc(run: &mut Run<'_>, users: &[UserId]) -> Result<(), ExecError> {
    if run.inst.status == InstanceStatus::Draft {
        return Err(ExecError::WrongState(run.inst.status));
    }
    if !is_participant(run) {
        return Err(ExecError::Forbidden);
    }
    let mut to: Vec<UserId> = Vec::new();
    for u in users {
        if !to.contains(u) {
            to.push(u.clone());
        }
    }
    if to.is_empty() {
        return Err(ExecError::InvalidUsers);
    }
    run.log(
        Line::new(HistoryAction::CcSent)
            .actor(&run.cmd.actor)
            .comment(run.cmd.comment.as_ref())
            .detail(json!({ "users": to })),
    );
    run.events.push(Event::Notify { users: to, reason: NotifyReason::Cc });
    Ok(())
}

fn comment(run: &mut Run<'_>, task: Option<TaskId>) -> Result<(), ExecError> {
    if run.inst.status == InstanceStatus::Draft {
        return Err(ExecError::WrongState(run.inst.status));
    }
    if run.cmd.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(ExecError::CommentRequired);
    }
    let node = match task {
        Some(id) => {
            let t = run.inst.task(id).ok_or(ExecError::UnknownTask)?;
            if t.assignee.as_ref() != Some(&run.cmd.actor) {
                return Err(ExecError::NotAssignee);
            }
            Some(t.node.clone())
        }
        None if is_participant(run) => None,
        None => return Err(ExecError::Forbidden),
    };
    let mut line = Line::new(HistoryAction::Commented).actor(&run.cmd.actor).comment(run.cmd.comment.as_ref());
    line.node = node;
    line.task = task;
    run.log(line);
    Ok(())
}

fn service_result(run: &mut Run<'_>, call_id: u32, ok: bool, detail: &Value) -> Result<(), ExecError> {
    require_status(run, InstanceStatus::Running)?;
    let call = run.inst.calls.iter().find(|c| c.id == call_id).cloned().ok_or(ExecError::UnknownCall)?;
    if call.status != CallStatus::Pending {
        return Err(ExecError::CallNotPending);
    }
    if let Some(c) = run.inst.calls.iter_mut().find(|c| c.id == call_id) {
        c.status = if ok { CallStatus::Succeeded } else { CallStatus::Failed };
    }
    let action = if ok { HistoryAction::ServiceSucceeded } else { HistoryAction::ServiceFailed };
    let line = Line::new(action)
        .actor(&run.cmd.actor)
        .node(&call.node)
        .comment(run.cmd.comment.as_ref())
        .detail(json!({ "call_id": call_id, "result": detail }));
    run.log(line);
    if ok {
        let Some(idx) = run.token_index(call.token) else { return Ok(()) };
        let tok = run.inst.tokens.remove(idx);
        if let Some(f) = run.def.outgoing(&tok.node).next() {
            run.enqueue(Arrival { node: f.to.clone(), via: Some(f.id.clone()), stack: tok.stack, trail: tok.trail });
        }
        Ok(())
    } else {
        run.events.push(Event::Notify { users: run.def.admins.clone(), reason: NotifyReason::ServiceFailed });
        run.service_failed(call.token)
    }
}
