//! The chat's client-side state, shared by the sidebar and the conversation pane.

use leptos::prelude::*;

use crate::model::{MessageRole, MessageStatus, MessageView};

/// The turn being streamed right now (the question and the answer so far).
#[derive(Clone, Debug, PartialEq)]
pub struct LiveTurn {
    /// Known once the server accepted the turn (`meta` event), or from the start.
    pub conversation_id: Option<String>,
    pub user_message_id: Option<String>,
    pub assistant_message_id: Option<String>,
    pub question: String,
    pub answer: String,
    pub status: MessageStatus,
    pub error: Option<String>,
    /// Position in line while the answer waits for the model.
    pub queued: Option<usize>,
}

impl LiveTurn {
    pub fn new(conversation_id: Option<String>, question: String) -> Self {
        LiveTurn {
            conversation_id,
            user_message_id: None,
            assistant_message_id: None,
            question,
            answer: String::new(),
            status: MessageStatus::Streaming,
            error: None,
            queued: None,
        }
    }

    /// The answer still being generated in a stored conversation (its last message is
    /// `streaming`), to re-attach to after a reload or from another tab.
    pub fn resume(conversation_id: &str, messages: &[MessageView]) -> Option<LiveTurn> {
        let (answer, earlier) = messages.split_last()?;
        if answer.role != MessageRole::Assistant || answer.status != MessageStatus::Streaming {
            return None;
        }
        let question = earlier.last().filter(|m| m.role == MessageRole::User);
        Some(LiveTurn {
            conversation_id: Some(conversation_id.to_string()),
            user_message_id: question.map(|q| q.id.clone()),
            assistant_message_id: Some(answer.id.clone()),
            question: question.map(|q| q.content.clone()).unwrap_or_default(),
            answer: String::new(),
            status: MessageStatus::Streaming,
            error: None,
            queued: None,
        })
    }

    /// Whether a stored message is this turn's (so it is not shown twice).
    pub fn owns(&self, message_id: &str) -> bool {
        self.user_message_id.as_deref() == Some(message_id)
            || self.assistant_message_id.as_deref() == Some(message_id)
    }
}

/// Settings chosen in a new chat, before its first question creates the conversation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DraftSettings {
    /// `None`: the server's default model.
    pub model: Option<String>,
    /// Empty: the default system prompt.
    pub system_prompt: String,
}

#[derive(Clone, Copy)]
pub struct ChatState {
    pub live: RwSignal<Option<LiveTurn>>,
    /// Turns of this page's conversation that ended since it was loaded (newest last).
    pub earlier: RwSignal<Vec<LiveTurn>>,
    /// Bumped when the conversation list should be fetched again.
    pub list_version: RwSignal<u32>,
    /// What the next new conversation starts with.
    pub draft: RwSignal<DraftSettings>,
}

impl ChatState {
    pub fn provide() -> ChatState {
        let state = ChatState {
            live: RwSignal::new(None),
            earlier: RwSignal::new(Vec::new()),
            list_version: RwSignal::new(0),
            draft: RwSignal::new(DraftSettings::default()),
        };
        provide_context(state);
        state
    }

    pub fn get() -> ChatState {
        expect_context::<ChatState>()
    }

    /// Ids of the messages shown as turns of this page (not to be shown again from storage).
    pub fn turn_message_ids(&self, conversation_id: Option<&str>) -> Vec<String> {
        let mut ids = Vec::new();
        let mut add = |t: &LiveTurn| {
            if t.conversation_id.as_deref() == conversation_id {
                ids.extend(t.user_message_id.clone());
                ids.extend(t.assistant_message_id.clone());
            }
        };
        self.earlier.with(|e| e.iter().for_each(&mut add));
        self.live.with(|l| l.iter().for_each(&mut add));
        ids
    }

    /// Starts a new turn; the one before it, if of the same conversation, stays on the page.
    pub fn begin(&self, turn: LiveTurn) {
        let previous = self.live.get_untracked();
        let conversation = turn.conversation_id.clone();
        self.earlier.update(|earlier| {
            earlier.retain(|t| conversation.is_some() && t.conversation_id == conversation);
            if let Some(p) = previous
                && conversation.is_some()
                && p.conversation_id == conversation
            {
                earlier.push(p);
            }
        });
        self.live.set(Some(turn));
    }

    pub fn is_streaming(&self) -> bool {
        self.live.with(|l| {
            l.as_ref()
                .is_some_and(|t| t.status == MessageStatus::Streaming)
        })
    }
}
