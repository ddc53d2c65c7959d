//! An import's life: which states exist and which moves between them are
//! allowed. The adapters enforce these with conditional updates.

use serde::Serialize;

/// Where an import is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Queued,
    Parsing,
    ReadyForReview,
    Approving,
    Completed,
    Failed,
    Voided,
}

impl ImportStatus {
    /// Every state, in life order.
    pub const ALL: [ImportStatus; 7] = [
        ImportStatus::Queued,
        ImportStatus::Parsing,
        ImportStatus::ReadyForReview,
        ImportStatus::Approving,
        ImportStatus::Completed,
        ImportStatus::Failed,
        ImportStatus::Voided,
    ];

    /// The state as stored and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Queued => "queued",
            ImportStatus::Parsing => "parsing",
            ImportStatus::ReadyForReview => "ready_for_review",
            ImportStatus::Approving => "approving",
            ImportStatus::Completed => "completed",
            ImportStatus::Failed => "failed",
            ImportStatus::Voided => "voided",
        }
    }

    /// Parses a stored state.
    pub fn parse(s: &str) -> Option<ImportStatus> {
        ImportStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the validator's results may still be recorded.
    pub fn accepts_rows(self) -> bool {
        matches!(self, ImportStatus::Queued | ImportStatus::Parsing)
    }

    /// Whether no further work will happen without a person acting.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            ImportStatus::ReadyForReview
                | ImportStatus::Completed
                | ImportStatus::Failed
                | ImportStatus::Voided
        )
    }
}

/// What an approve (Save) request should do, given the import's state and
/// whether it was approved before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApproveDecision {
    /// Start approval: record who and when, queue the claims job.
    Start,
    /// Approval already under way or done: answer as if accepted, do nothing.
    AlreadyApproved,
    /// An approval that failed part-way may be resumed; claims are
    /// idempotent per line, so resuming never doubles one.
    Resume,
    /// Not approvable in this state.
    Refuse,
}

/// Decides an approve request.
pub fn approve_decision(status: ImportStatus, approved_before: bool) -> ApproveDecision {
    match (status, approved_before) {
        (ImportStatus::ReadyForReview, _) => ApproveDecision::Start,
        (ImportStatus::Approving | ImportStatus::Completed, _) => ApproveDecision::AlreadyApproved,
        (ImportStatus::Failed, true) => ApproveDecision::Resume,
        _ => ApproveDecision::Refuse,
    }
}

/// What a void request should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoidDecision {
    /// Void the import's claims and mark it voided.
    Void,
    /// Already voided: change nothing.
    AlreadyVoided,
    /// Nothing to void in this state.
    Refuse,
}

/// Decides a void request: completed imports, and imports whose approval
/// failed part-way (they may hold some claims), can be voided.
pub fn void_decision(status: ImportStatus, approved_before: bool) -> VoidDecision {
    match (status, approved_before) {
        (ImportStatus::Completed, _) | (ImportStatus::Failed, true) => VoidDecision::Void,
        (ImportStatus::Voided, _) => VoidDecision::AlreadyVoided,
        _ => VoidDecision::Refuse,
    }
}

/// What an operator's requeue of an import's dead letters does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequeueDecision {
    /// Put the import back in the state it failed from; its work resumes
    /// from the requeued messages, which are idempotent.
    Restore(ImportStatus),
    /// Leave the state alone (it did not fail from running work, or a
    /// person moved it on since); the messages are still requeued, and
    /// their handlers ignore work the import no longer needs.
    Leave,
}

/// Decides a requeue, given the import's state and the state it was in
/// when it failed. Only work that was running can be resumed: a file
/// refused for what it contains fails from `parsing` too, but its parse
/// job is acked, never dead-lettered, so it is never requeued.
pub fn requeue_decision(
    status: ImportStatus,
    failed_from: Option<ImportStatus>,
) -> RequeueDecision {
    match (status, failed_from) {
        (
            ImportStatus::Failed,
            Some(from @ (ImportStatus::Queued | ImportStatus::Parsing | ImportStatus::Approving)),
        ) => RequeueDecision::Restore(from),
        _ => RequeueDecision::Leave,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requeued_import_goes_back_to_the_running_state_it_failed_from() {
        use ImportStatus::*;
        for from in [Queued, Parsing, Approving] {
            assert_eq!(
                requeue_decision(Failed, Some(from)),
                RequeueDecision::Restore(from)
            );
        }
        assert_eq!(requeue_decision(Failed, None), RequeueDecision::Leave);
        assert_eq!(
            requeue_decision(Failed, Some(ReadyForReview)),
            RequeueDecision::Leave
        );
        for now in [
            Queued,
            Parsing,
            ReadyForReview,
            Approving,
            Completed,
            Voided,
        ] {
            assert_eq!(
                requeue_decision(now, Some(Parsing)),
                RequeueDecision::Leave,
                "{now:?} is not failed"
            );
        }
    }

    #[test]
    fn status_round_trips_as_text() {
        for s in ImportStatus::ALL {
            assert_eq!(ImportStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn only_a_reviewed_import_starts_approval() {
        use ApproveDecision::*;
        assert_eq!(approve_decision(ImportStatus::ReadyForReview, false), Start);
        assert_eq!(
            approve_decision(ImportStatus::Approving, true),
            AlreadyApproved
        );
        assert_eq!(
            approve_decision(ImportStatus::Completed, true),
            AlreadyApproved
        );
        assert_eq!(approve_decision(ImportStatus::Failed, true), Resume);
        for s in [
            ImportStatus::Queued,
            ImportStatus::Parsing,
            ImportStatus::Voided,
        ] {
            assert_eq!(approve_decision(s, false), Refuse);
        }
        assert_eq!(approve_decision(ImportStatus::Failed, false), Refuse);
    }

    #[test]
    fn voiding_twice_changes_nothing() {
        assert_eq!(
            void_decision(ImportStatus::Completed, true),
            VoidDecision::Void
        );
        assert_eq!(
            void_decision(ImportStatus::Voided, true),
            VoidDecision::AlreadyVoided
        );
        assert_eq!(
            void_decision(ImportStatus::ReadyForReview, false),
            VoidDecision::Refuse
        );
        assert_eq!(
            void_decision(ImportStatus::Failed, false),
            VoidDecision::Refuse
        );
    }

    #[test]
    fn rows_are_recorded_only_while_parsing() {
        assert!(ImportStatus::Queued.accepts_rows());
        assert!(ImportStatus::Parsing.accepts_rows());
        assert!(!ImportStatus::ReadyForReview.accepts_rows());
        assert!(!ImportStatus::Completed.accepts_rows());
    }
}
