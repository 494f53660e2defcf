//! The state of one affair (instance): tokens, tasks, service calls and history. Everything is
//! `Serialize + Deserialize` so the server stores it as JSON between commands.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Completion, FlowId, NodeId, ServiceCall, TaskId, UserId};

/// Where an affair stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Not submitted yet.
    Draft,
    /// Being handled.
    Running,
    /// Returned to the applicant (退回), waiting for a resubmission.
    Returned,
    /// Finished at a completing end (办结).
    Completed,
    /// Rejected (不予办理).
    Rejected,
    /// Withdrawn by the applicant (撤回).
    Withdrawn,
}

impl InstanceStatus {
    /// Completed, rejected or withdrawn: nothing more can happen.
    pub fn is_finished(self) -> bool {
        matches!(self, InstanceStatus::Completed | InstanceStatus::Rejected | InstanceStatus::Withdrawn)
    }
}

/// One affair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Key of the process definition.
    pub process_key: String,
    /// Where it stands.
    pub status: InstanceStatus,
    /// Who applied.
    pub applicant: UserId,
    /// Attributes of the applicant seen by conditions as `applicant` (kind, department_code, ...).
    pub applicant_attrs: Value,
    /// The form data (a JSON object).
    pub form: Value,
    /// Users the applicant picked at submission, by key (发起人自选).
    #[serde(default)]
    pub picks: BTreeMap<String, Vec<UserId>>,
    /// Live tokens: one per node being worked on or join being waited at.
    #[serde(default)]
    pub tokens: Vec<Token>,
    /// Every task ever created, in creation order.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Every service call ever requested.
    #[serde(default)]
    pub calls: Vec<CallRecord>,
    /// Everything that happened, in order.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Set while returned to the applicant: where a resubmission goes straight back to.
    #[serde(default)]
    pub returned: Option<ReturnPoint>,
    /// Set right after an approval, so its handler can take it back until anybody else acts.
    #[serde(default)]
    pub undo: Option<UndoPoint>,
    /// Whether a handler acted since the last (re)submission; the applicant may withdraw only
    /// while not.
    #[serde(default)]
    pub handled: bool,
    /// When it was first submitted.
    #[serde(default)]
    pub submitted_at: Option<DateTime<Utc>>,
    /// When the whole affair is due (from the definition's time limit).
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Sequence counters.
    #[serde(default)]
    pub counters: Counters,
}

impl Instance {
    /// A draft affair with empty form data.
    pub fn new(process_key: impl Into<String>, applicant: UserId, applicant_attrs: Value) -> Instance {
        Instance {
            process_key: process_key.into(),
            status: InstanceStatus::Draft,
            applicant,
            applicant_attrs,
            form: Value::Object(serde_json::Map::new()),
            picks: BTreeMap::new(),
            tokens: Vec::new(),
            tasks: Vec::new(),
            calls: Vec::new(),
            history: Vec::new(),
            returned: None,
            undo: None,
            handled: false,
            submitted_at: None,
            due_at: None,
            finished_at: None,
            counters: Counters::default(),
        }
    }

    /// The task with this id.
    pub fn task(&self, id: TaskId) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// Pending tasks, in creation order.
    pub fn pending_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.iter().filter(|t| t.status == TaskStatus::Pending)
    }

    /// Service calls waiting for their result.
    pub fn pending_calls(&self) -> impl Iterator<Item = &CallRecord> {
        self.calls.iter().filter(|c| c.status == CallStatus::Pending)
    }

    /// Pending tasks `user` may act on (as assignee) or claim (as candidate).
    pub fn tasks_of<'a>(&'a self, user: &'a UserId) -> impl Iterator<Item = &'a Task> + 'a {
        self.pending_tasks().filter(move |t| t.assignee.as_ref() == Some(user) || t.candidates.contains(user))
    }
}

/// Sequence counters; ids are never reused within an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Last task id.
    pub task: u32,
    /// Last token id.
    pub token: u32,
    /// Last fork frame id.
    pub frame: u32,
    /// Last service call id.
    pub call: u32,
    /// Last history sequence number.
    pub seq: u64,
}

/// Work at one node: a token arrives, waits there, and leaves when the node is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Token id (a new one every time a node is entered).
    pub id: u32,
    /// Where it is.
    pub node: NodeId,
    /// The flow it came by.
    pub via: Option<FlowId>,
    /// Open forks it is inside, outermost first.
    pub stack: Vec<Frame>,
    /// User-task nodes completed on the way here, oldest first: the targets of a return.
    pub trail: Vec<TrailEntry>,
    /// What it waits for.
    pub wait: Wait,
    /// When it arrived.
    pub entered_at: DateTime<Utc>,
    /// When the node's work is due.
    pub due_at: Option<DateTime<Utc>>,
}

/// An open fork of a parallel or inclusive gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Frame id.
    pub id: u32,
    /// The forking gateway.
    pub gateway: NodeId,
    /// How many branches were taken; the join waits for that many.
    pub branches: u32,
}

/// A user-task node completed on a token's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailEntry {
    /// The node.
    pub node: NodeId,
    /// How many forks were open at it.
    pub depth: u32,
    /// Who approved there, in order.
    pub handlers: Vec<UserId>,
}

/// What a token waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Wait {
    /// People (a user task, or admins after a service call failed).
    Tasks(Work),
    /// A service call's result.
    Service {
        /// The call id.
        call: u32,
    },
    /// The other branches of its fork, at a join.
    Join,
}

/// The signers of a user task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// When the node is complete (evaluated over groups).
    pub completion: Completion,
    /// Groups one after another (sequential) rather than all at once.
    pub sequential: bool,
    /// One group per signer found by the rules; signers added before or after a member join
    /// that member's group, which is handled in order and counts as approved when all of it is.
    pub groups: Vec<Vec<Slot>>,
}

/// One signer's place in a user task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// The signer, once known (a group task has candidates until claimed).
    pub user: Option<UserId>,
    /// Candidates of a group task.
    #[serde(default)]
    pub candidates: Vec<UserId>,
    /// The current task of the slot.
    pub task: Option<TaskId>,
    /// Who approved it.
    pub approved_by: Option<UserId>,
    /// Set for signers added by a handler (加签).
    pub added: Option<Added>,
}

/// Who added a signer and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Added {
    /// The handler who added the signer.
    pub by: UserId,
    /// Before or after that handler.
    pub position: SignerPosition,
}

/// Where an added signer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerPosition {
    /// Before the handler (前加签): the handler's task waits for them.
    Before,
    /// After the handler (后加签): they sign once the handler approved.
    After,
}

/// A task for one person (or a group to claim from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Instance-local id.
    pub id: TaskId,
    /// The node.
    pub node: NodeId,
    /// The token (node visit) it belongs to.
    pub token: u32,
    /// Who must act; `None` for an unclaimed group task.
    pub assignee: Option<UserId>,
    /// Whom it was meant for when it went to someone else (out-of-office deputy, transfer,
    /// delegation).
    pub original_assignee: Option<UserId>,
    /// Candidates of a group task.
    #[serde(default)]
    pub candidates: Vec<UserId>,
    /// What kind of task.
    pub kind: TaskKind,
    /// Pending, done or cancelled.
    pub status: TaskStatus,
    /// Position of the handler in a sequential node (1-based).
    pub order: Option<u32>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When due.
    pub due_at: Option<DateTime<Utc>>,
    /// When closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// How it was closed.
    pub result: Option<TaskResult>,
}

/// What kind of task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskKind {
    /// An ordinary task.
    Normal,
    /// Delegated (委派): once handled, a task goes back to the delegator.
    Delegated {
        /// Who delegated it.
        delegator: UserId,
    },
    /// A signer added before a handler.
    AddedBefore {
        /// Who added them.
        by: UserId,
    },
    /// A signer added after a handler.
    AddedAfter {
        /// Who added them.
        by: UserId,
    },
    /// For administrators after a service call failed: approve to go on.
    ServiceFailure,
}

/// Task status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for its assignee.
    Pending,
    /// Its holder acted on it.
    Done,
    /// Closed without its holder acting.
    Cancelled,
}

/// How a task was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskResult {
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
    /// Returned.
    Returned,
    /// Transferred to someone else.
    Transferred,
    /// Delegated to someone else.
    Delegated,
    /// Claimed (a new task went to the claimer).
    Claimed,
    /// Its holder added signers before themselves.
    SignersAdded,
    /// Closed by something else (a sibling completed the node, a return, the end).
    Cancelled,
}

/// A service call requested from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Instance-local id.
    pub id: u32,
    /// The service node.
    pub node: NodeId,
    /// The token waiting for it.
    pub token: u32,
    /// What to call.
    pub call: ServiceCall,
    /// Where it stands.
    pub status: CallStatus,
}

/// Service call status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Waiting for the result.
    Pending,
    /// Succeeded.
    Succeeded,
    /// Failed (administrators got a task).
    Failed,
    /// No longer wanted (returned, withdrawn, ended); a late result is refused.
    Cancelled,
}

/// A token arriving at a node: also what a resubmission straight back to the returner resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    /// The node.
    pub node: NodeId,
    /// The flow it comes by.
    pub via: Option<FlowId>,
    /// Open forks.
    pub stack: Vec<Frame>,
    /// Completed user tasks on the way.
    pub trail: Vec<TrailEntry>,
}

/// Where a returned affair resumes when resubmitted straight back to the returner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnPoint {
    /// Who returned it.
    pub by: UserId,
    /// From which node.
    pub node: NodeId,
    /// With which task.
    pub task: TaskId,
    /// When.
    pub at: DateTime<Utc>,
    /// Every node that was open, re-entered on resubmission.
    pub resume: Vec<Arrival>,
}

/// What an approval changed, so its handler can take it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoPoint {
    /// The approved task.
    pub task: TaskId,
    /// The tokens just before the approval.
    pub tokens: Vec<Token>,
}

/// One line of the affair's history (办理记录).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Strictly increasing sequence number, from 1.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who; `None` for the engine itself.
    pub actor: Option<UserId>,
    /// What.
    pub action: HistoryAction,
    /// At which node.
    pub node: Option<NodeId>,
    /// On which task.
    pub task: Option<TaskId>,
    /// The actor's comment (意见).
    pub comment: Option<String>,
    /// Form fields the action changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_fields: Vec<String>,
    /// Anything else worth keeping (targets, users, reasons, old and new field values).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    /// The applicant submitted.
    Submitted,
    /// The applicant resubmitted after a return.
    Resubmitted,
    /// The applicant withdrew the affair.
    Withdrawn,
    /// A handler approved.
    Approved,
    /// A handler rejected.
    Rejected,
    /// A handler returned the affair.
    Returned,
    /// A handler took back an approval.
    ApprovalWithdrawn,
    /// A task was transferred.
    Transferred,
    /// A task was delegated.
    Delegated,
    /// A delegated task came back to its delegator.
    DelegationReturned,
    /// Signers were added.
    SignersAdded,
    /// An added signer was removed.
    SignerRemoved,
    /// A group task was claimed.
    Claimed,
    /// Someone urged the handlers.
    Urged,
    /// Someone copied the affair to others.
    CcSent,
    /// Someone commented.
    Commented,
    /// The engine approved because the handler also handled the previous node.
    AutoApproved,
    /// An assignee rule found nobody; the task went to the process administrators.
    NoAssignee,
    /// A condition could not be evaluated and counted as false.
    ConditionFailed,
    /// A CC node notified its recipients.
    CcNotified,
    /// A service call was requested.
    ServiceCalled,
    /// A service call succeeded.
    ServiceSucceeded,
    /// A service call failed; administrators got a task.
    ServiceFailed,
    /// The affair reached an end.
    Finished,
}
