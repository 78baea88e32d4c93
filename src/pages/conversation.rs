//! `/` (a new chat) and `/c/{id}`: the messages and the composer.

use leptos::{html::Div, prelude::*};
use leptos_router::hooks::use_params_map;

use crate::{
    api::conversations::get_conversation,
    components::{
        chat_state::{ChatState, LiveTurn},
        composer::Composer,
        message_view::MessageView,
    },
    error::AppError,
    i18n::t,
    model::{MessageRole, MessageStatus, MessageView as Message},
    session::with_refresh,
};

#[component]
pub fn ConversationPane() -> impl IntoView {
    let chat = ChatState::get();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id"));
    let detail = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => with_refresh(|| get_conversation(id.clone()))
                    .await
                    .map(|d| d.messages),
                None => Ok(Vec::new()),
            }
        },
    );
    // The live turn's ids change rarely (tokens do not touch them).
    let live_ids = Memo::new(move |_| {
        chat.live.with(|l| {
            l.as_ref()
                .map(|t| (t.user_message_id.clone(), t.assistant_message_id.clone()))
        })
    });
    let live_here = Memo::new(move |_| {
        chat.live
            .with(|l| l.as_ref().is_some_and(|t| t.conversation_id == id.get()))
    });

    // An answer still being generated (a reload, another tab): follow it live.
    Effect::new(move |_| {
        let Some(Ok(messages)) = detail.get() else {
            return;
        };
        let Some(conversation) = id.get_untracked() else {
            return;
        };
        let followed = chat.live.with_untracked(|l| {
            l.as_ref()
                .is_some_and(|t| t.conversation_id.as_deref() == Some(conversation.as_str()))
        });
        if !followed && let Some(turn) = LiveTurn::resume(&conversation, &messages) {
            crate::chat_stream::resume(chat, turn);
        }
    });

    let end = NodeRef::<Div>::new();
    Effect::new(move |_| {
        chat.live.track();
        if let Some(end) = end.get() {
            end.scroll_into_view_with_bool(false);
        }
    });

    view! {
        <section class="conversation">
            <div class="message-list" data-testid="message-list">
                <Transition fallback=|| view! { <div class="skeleton" aria-busy="true"></div> }>
                    {move || Suspend::new(async move {
                        match detail.await {
                            Ok(messages) => stored_messages(messages, live_ids.get(), live_here.get()).into_any(),
                            Err(AppError::NotFound(_)) => view! { <p class="muted">{t().not_found}</p> }.into_any(),
                            Err(e) => view! { <p class="form-error">{crate::i18n::error_message(&e)}</p> }.into_any(),
                        }
                    })}
                </Transition>
                {move || live_here.get().then(|| view! { <LiveTurnView /> })}
                <div class="scroll-end" node_ref=end></div>
            </div>
            <Composer conversation_id=id />
        </section>
    }
}

fn stored_messages(
    messages: Vec<Message>,
    live: Option<(Option<String>, Option<String>)>,
    live_here: bool,
) -> impl IntoView {
    let (live_user, live_answer) = live.unwrap_or_default();
    let shown: Vec<Message> = messages
        .into_iter()
        .filter(|m| Some(&m.id) != live_user.as_ref() && Some(&m.id) != live_answer.as_ref())
        .collect();
    if shown.is_empty() && !live_here {
        return view! { <p class="empty-chat">{t().empty_chat}</p> }.into_any();
    }
    shown
        .into_iter()
        .map(|m| view! { <MessageView role=m.role content=m.content status=m.status /> })
        .collect_view()
        .into_any()
}

/// The question being answered and the answer as it streams.
#[component]
fn LiveTurnView() -> impl IntoView {
    let chat = ChatState::get();
    let field = move |f: fn(&crate::components::chat_state::LiveTurn) -> String| {
        Signal::derive(move || chat.live.with(|l| l.as_ref().map(f).unwrap_or_default()))
    };
    let question = field(|t| t.question.clone());
    let answer = field(|t| t.answer.clone());
    let status = Signal::derive(move || {
        chat.live.with(|l| {
            l.as_ref()
                .map(|t| t.status)
                .unwrap_or(MessageStatus::Complete)
        })
    });
    let error =
        Signal::derive(move || chat.live.with(|l| l.as_ref().and_then(|t| t.error.clone())));
    let queued = move || chat.live.with(|l| l.as_ref().and_then(|t| t.queued));
    view! {
        <MessageView role=MessageRole::User content=question status=MessageStatus::Complete />
        {move || queued().map(|n| view! {
            <p class="queued-note" role="status" data-testid="queued">{format!("{} {n}", t().queued)}</p>
        })}
        <MessageView role=MessageRole::Assistant content=answer status error />
    }
}
