//! The executor: `(definition, instance, command, directory, calendar) → (instance, events)`.
//!
//! Pure and deterministic: the time comes with the command, people come from the caller's
//! [`Directory`], due dates from the caller's [`DueDates`]. A refused command changes nothing.
//!
//! How it works, in short: a *token* sits at every node being worked on. Forks of parallel and
//! inclusive gateways push a *frame* on the tokens' stacks and the matching join pops it once as
//! many tokens arrived as the fork sent out, so an inclusive join waits exactly for the branches
//! taken. Each token carries the *trail* of user tasks completed on its way; a return goes to a
//! node on that trail and cancels precisely the tokens of the forks opened since then. A user task
//! keeps its signers in *groups* (one per signer found by the rules; signers added before or after
//! someone join that person's group), and the completion rule counts approved groups.

mod actions;
mod run;
pub mod state;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::calendar::DueDates;
use crate::model::{AssigneeRule, NodeId, ProcessDefinition, ServiceCall, TaskId, UserId};

pub use state::{
    Added, Arrival, CallRecord, CallStatus, Counters, Frame, HistoryAction, HistoryEntry, Instance, InstanceStatus,
    ReturnPoint, SignerPosition, Slot, Task, TaskKind, TaskResult, TaskStatus, Token, TrailEntry, UndoPoint, Wait,
    Work,
};

/// What an assignee rule is resolved against.
#[derive(Debug, Clone, Copy)]
pub struct ResolveContext<'a> {
    /// The process key (for per-process rules and out-of-office settings).
    pub process_key: &'a str,
    /// The node being entered.
    pub node: &'a NodeId,
    /// The applicant.
    pub applicant: &'a UserId,
    /// The applicant's attributes.
    pub applicant_attrs: &'a Value,
    /// The form data.
    pub form: &'a Value,
    /// Who approved the previous user task on this path (the applicant for the first one).
    pub previous_handler: Option<&'a UserId>,
    /// Users the applicant picked at submission.
    pub picks: &'a BTreeMap<String, Vec<UserId>>,
}

/// The organisation as the engine needs it; the server implements it over pre-loaded org data.
pub trait Directory {
    /// The users a rule designates, in a stable order. Empty when nobody fits: the task then goes
    /// to the process administrators.
    fn resolve(&self, rule: &AssigneeRule, ctx: &ResolveContext<'_>) -> Vec<UserId>;

    /// The out-of-office deputy (代理) of `user` for this process at `at`, if any.
    fn deputy(&self, user: &UserId, process_key: &str, at: DateTime<Utc>) -> Option<UserId>;
}

/// Resolves the rules that need nothing but the affair's own data: named users, a user field of
/// the form (a user id or an array of them) and the applicant's picks. `None` for rules that need
/// the organisation. A [`Directory`] implementation can start with this.
pub fn resolve_from_data(rule: &AssigneeRule, ctx: &ResolveContext<'_>) -> Option<Vec<UserId>> {
    match rule {
        AssigneeRule::Users { users } => Some(users.clone()),
        AssigneeRule::FormField { field } => Some(match ctx.form.get(field) {
            Some(Value::String(s)) if !s.is_empty() => vec![UserId::from(s.as_str())],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(UserId::from).collect(),
            _ => Vec::new(),
        }),
        AssigneeRule::ApplicantPicks { key } => Some(ctx.picks.get(key).cloned().unwrap_or_default()),
        _ => None,
    }
}

/// A command to an affair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// Who acts (the server's system user for service results).
    pub actor: UserId,
    /// What they do.
    pub action: Action,
    /// Their comment (意见).
    #[serde(default)]
    pub comment: Option<String>,
    /// Form fields to change: any field for the applicant on submit and resubmit, fields the
    /// node makes editable for approve, reject and return; refused on other actions.
    #[serde(default)]
    pub form_patch: Option<serde_json::Map<String, Value>>,
    /// The time of the command.
    pub now: DateTime<Utc>,
}

/// Where a return sends the affair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnTarget {
    /// Back to the applicant (the affair waits for a resubmission).
    Applicant,
    /// To the previous user task on this path (the applicant if there is none).
    Previous,
    /// To an earlier user task on this path.
    Node(NodeId),
}

/// How a returned affair is resubmitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResubmitMode {
    /// Straight back to the node(s) that were open when it was returned.
    BackToReturner,
    /// Through the flow again from the start.
    ThroughFlow,
}

/// A handling action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// The applicant submits a draft.
    Submit {
        /// Users picked for `applicant_picks` rules, by key.
        #[serde(default)]
        picks: BTreeMap<String, Vec<UserId>>,
    },
    /// Approve (同意). On a delegated task: hand it back to the delegator.
    Approve {
        /// The task.
        task: TaskId,
    },
    /// Reject (不同意): the affair ends rejected.
    Reject {
        /// The task.
        task: TaskId,
    },
    /// Return (退回).
    Return {
        /// The task.
        task: TaskId,
        /// Where to.
        to: ReturnTarget,
    },
    /// The applicant resubmits a returned affair.
    Resubmit {
        /// Where it goes.
        mode: ResubmitMode,
    },
    /// The applicant withdraws the affair (only before any handler acted, or while returned).
    Withdraw,
    /// A handler takes back their approval (only until anybody else acted).
    WithdrawTask {
        /// The approved task.
        task: TaskId,
    },
    /// Hand the task to someone else for good (转办); also for process administrators.
    Transfer {
        /// The task.
        task: TaskId,
        /// The new handler.
        to: UserId,
    },
    /// Ask someone else to handle it and give it back (委派).
    Delegate {
        /// The task.
        task: TaskId,
        /// The delegate.
        to: UserId,
    },
    /// Add signers before or after oneself (加签).
    AddSigner {
        /// The actor's task.
        task: TaskId,
        /// Who signs.
        users: Vec<UserId>,
        /// Before or after the actor.
        position: SignerPosition,
    },
    /// Remove a signer one added who has not signed yet (减签).
    RemoveSigner {
        /// A task of the actor at the node.
        task: TaskId,
        /// The signer.
        user: UserId,
    },
    /// Claim a group task (认领).
    Claim {
        /// The task.
        task: TaskId,
    },
    /// Remind the current handlers (催办): the applicant or an administrator.
    Urge,
    /// Copy the affair to people (抄送): the applicant, a handler or an administrator.
    Cc {
        /// Who.
        users: Vec<UserId>,
    },
    /// Comment without acting (the comment is required).
    Comment {
        /// The actor's task, if the comment is about it.
        #[serde(default)]
        task: Option<TaskId>,
    },
    /// The server reports a service call's result.
    ServiceResult {
        /// The call.
        call_id: u32,
        /// Whether it succeeded (a failure, after the server's retries, gives the process
        /// administrators a task to go on by hand).
        ok: bool,
        /// What happened (certificate number, error, ...).
        #[serde(default)]
        detail: Value,
    },
}

/// The result of an accepted command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The new state.
    pub instance: Instance,
    /// What the server must do or tell, in order.
    pub events: Vec<Event>,
}

/// Why people are notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyReason {
    /// Urged.
    Urge,
    /// Copied (by a CC node or a person).
    Cc,
    /// Returned to the applicant.
    Returned,
    /// The affair finished.
    Finished,
    /// A service call failed.
    ServiceFailed,
}

/// Something the server must act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A task was created (see `instance.tasks`); notify its assignee or candidates.
    TaskCreated {
        /// The task.
        task: TaskId,
    },
    /// A task was closed.
    TaskClosed {
        /// The task.
        task: TaskId,
    },
    /// Notify users.
    Notify {
        /// Who.
        users: Vec<UserId>,
        /// Why.
        reason: NotifyReason,
    },
    /// Perform a call and report it with [`Action::ServiceResult`].
    ServiceCall {
        /// Instance-local call id.
        call_id: u32,
        /// The service node.
        node: NodeId,
        /// What to call.
        call: ServiceCall,
    },
    /// The affair finished with this status.
    Finished {
        /// Completed, rejected or withdrawn.
        status: InstanceStatus,
    },
}

/// Why a command is refused. The instance is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The affair is completed, rejected or withdrawn.
    #[error("the affair is finished")]
    Finished,
    /// The action does not fit the affair's status.
    #[error("not possible while the affair is {0:?}")]
    WrongState(InstanceStatus),
    /// The definition is not the one the affair runs on.
    #[error("the definition does not belong to this affair")]
    DefinitionMismatch,
    /// Only the applicant may do this.
    #[error("only the applicant may do this")]
    NotApplicant,
    /// The actor is not the task's assignee (or, to claim, not a candidate).
    #[error("the task is not assigned to you")]
    NotAssignee,
    /// The actor may not do this on this affair.
    #[error("you may not do this on this affair")]
    Forbidden,
    /// No such task.
    #[error("no such task")]
    UnknownTask,
    /// The task was already handled or cancelled.
    #[error("the task is no longer pending")]
    TaskNotPending,
    /// A delegated task can only be handled and given back.
    #[error("a delegated task can only be handled and given back")]
    DelegatedTask,
    /// Claim needs a group task.
    #[error("not a group task")]
    NotGroupTask,
    /// The return target is not an earlier node on this path.
    #[error("not an earlier node on this path")]
    InvalidTarget,
    /// The users named are empty, the actor, or already signing.
    #[error("invalid users")]
    InvalidUsers,
    /// The user is not a pending signer added by the actor.
    #[error("not a pending signer you added")]
    NotAddedSigner,
    /// The form patch touches a field the node does not make editable.
    #[error("field `{0}` is not editable here")]
    FieldNotEditable(String),
    /// This action takes no form patch.
    #[error("this action cannot change the form")]
    FormPatchNotAllowed,
    /// Too late to withdraw.
    #[error("cannot withdraw any more")]
    CannotWithdraw,
    /// A comment is required.
    #[error("a comment is required")]
    CommentRequired,
    /// No such service call.
    #[error("no such service call")]
    UnknownCall,
    /// The service call is not waiting for a result.
    #[error("the service call is not pending")]
    CallNotPending,
    /// No outgoing flow of a gateway applies.
    #[error("no outgoing flow of gateway {0} applies")]
    NoRoute(NodeId),
    /// The affair refers to a node the definition lacks.
    #[error("unknown node {0}")]
    UnknownNode(NodeId),
    /// The flow kept moving without ever waiting (a loop through auto-approved tasks).
    #[error("the flow does not come to rest")]
    LoopLimit,
}

impl ExecError {
    /// Stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            ExecError::Finished => "finished",
            ExecError::WrongState(_) => "wrong_state",
            ExecError::DefinitionMismatch => "definition_mismatch",
            ExecError::NotApplicant => "not_applicant",
            ExecError::NotAssignee => "not_assignee",
            ExecError::Forbidden => "forbidden",
            ExecError::UnknownTask => "unknown_task",
            ExecError::TaskNotPending => "task_not_pending",
            ExecError::DelegatedTask => "delegated_task",
            ExecError::NotGroupTask => "not_a_group_task",
            ExecError::InvalidTarget => "invalid_target",
            ExecError::InvalidUsers => "invalid_users",
            ExecError::NotAddedSigner => "not_an_added_signer",
            ExecError::FieldNotEditable(_) => "field_not_editable",
            ExecError::FormPatchNotAllowed => "form_patch_not_allowed",
            ExecError::CannotWithdraw => "cannot_withdraw",
            ExecError::CommentRequired => "comment_required",
            ExecError::UnknownCall => "unknown_call",
            ExecError::CallNotPending => "call_not_pending",
            ExecError::NoRoute(_) => "no_route",
            ExecError::UnknownNode(_) => "unknown_node",
            ExecError::LoopLimit => "loop_limit",
        }
    }
}

impl fmt::Display for ReturnTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReturnTarget::Applicant => f.write_str("applicant"),
            ReturnTarget::Previous => f.write_str("previous"),
            ReturnTarget::Node(n) => write!(f, "node {n}"),
        }
    }
}

/// Execute one command. The definition must be the (valid) one the affair runs on. `state` is
/// left as it was: the outcome holds the new instance.
pub fn execute(
    def: &ProcessDefinition,
    state: &Instance,
    cmd: &Command,
    dir: &dyn Directory,
    due: &dyn DueDates,
) -> Result<Outcome, ExecError> {
    check(def, state)?;
    step(def, state.clone(), cmd, dir, due)
}

/// [`execute`] on an instance the caller no longer needs (a loop that only keeps the newest
/// state): it is changed in place instead of copied, which is most of the cost of a step on a
/// long history. On error the instance is dropped.
pub fn execute_owned(
    def: &ProcessDefinition,
    state: Instance,
    cmd: &Command,
    dir: &dyn Directory,
    due: &dyn DueDates,
) -> Result<Outcome, ExecError> {
    check(def, &state)?;
    step(def, state, cmd, dir, due)
}

/// Refuse a command for another process or a finished affair, before anything is copied.
fn check(def: &ProcessDefinition, state: &Instance) -> Result<(), ExecError> {
    if def.key != state.process_key {
        return Err(ExecError::DefinitionMismatch);
    }
    if state.status.is_finished() {
        return Err(ExecError::Finished);
    }
    Ok(())
}

/// One command on a checked instance.
fn step(
    def: &ProcessDefinition,
    state: Instance,
    cmd: &Command,
    dir: &dyn Directory,
    due: &dyn DueDates,
) -> Result<Outcome, ExecError> {
    let mut run = run::Run::new(def, dir, due, cmd, state);
    actions::dispatch(&mut run)?;
    Ok(Outcome { instance: run.inst, events: run.events })
}
