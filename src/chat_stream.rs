//! Sending a question from the UI. The browser build streams the answer (see `client::chat`);
//! the server build never sends (event handlers only run in the browser).

use std::rc::Rc;

use leptos::prelude::GetUntracked;

use crate::{
    components::chat_state::{ChatState, LiveTurn},
    model::ChatRequest,
};

/// Starts a turn: shows the question at once and streams the answer into `chat.live`.
/// `on_new_conversation` is called with the id when the server created a conversation.
pub fn send(
    chat: ChatState,
    conversation_id: Option<String>,
    question: String,
    on_new_conversation: Rc<dyn Fn(String)>,
) {
    use leptos::prelude::Set;
    chat.begin(LiveTurn::new(conversation_id.clone(), question.clone()));
    // A new conversation starts with the settings chosen for it (then they are used up).
    let settings = match conversation_id {
        None => {
            let draft = chat.draft.get_untracked();
            chat.draft.set(Default::default());
            draft
        }
        Some(_) => Default::default(),
    };
    let request = ChatRequest {
        conversation_id,
        message: question,
        model: settings.model,
        system_prompt: Some(settings.system_prompt).filter(|p| !p.trim().is_empty()),
    };
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(crate::client::chat::stream_answer(
        chat,
        request,
        on_new_conversation,
    ));
    #[cfg(not(feature = "hydrate"))]
    let _ = (request, on_new_conversation);
}

/// Shows an answer still being generated (found when a conversation opens) and follows it to
/// its end: the text so far first, then the rest live.
pub fn resume(chat: ChatState, turn: LiveTurn) {
    use leptos::prelude::Set;
    let conversation_id = turn.conversation_id.clone();
    chat.live.set(Some(turn));
    #[cfg(feature = "hydrate")]
    if let Some(id) = conversation_id {
        leptos::task::spawn_local(crate::client::chat::attach(chat, id));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = conversation_id;
}

/// Asks the server to stop the answer being streamed (it ends `stopped`, its text kept).
pub fn stop(chat: ChatState) {
    use leptos::prelude::WithUntracked;
    let conversation_id = chat
        .live
        .with_untracked(|l| l.as_ref().and_then(|t| t.conversation_id.clone()));
    #[cfg(feature = "hydrate")]
    if let Some(id) = conversation_id {
        leptos::task::spawn_local(crate::client::chat::stop(id));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = conversation_id;
}
