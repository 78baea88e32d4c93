//! `/` (a new chat) and `/c/{id}`: the messages and the composer. Follows the answer as it
//! streams unless the person scrolled up (then a "jump to latest" button appears); failed,
//! stopped and interrupted answers offer Retry; a new chat suggests a few questions.

use std::rc::Rc;

use leptos::{html::Div, prelude::*};
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::{
    api::conversations::{get_conversation, older_messages},
    chat_stream,
    components::{
        chat_state::{ChatState, LiveTurn},
        composer::Composer,
        conversation_settings::ConversationSettings,
        message_view::MessageView,
    },
    error::AppError,
    i18n::t,
    model::{ConversationDetail, MessageRole, MessageStatus, MessageView as Message},
    session::with_refresh,
};

/// How close to the bottom (px) still counts as "following the answer".
const FOLLOW_MARGIN: i32 = 80;

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
                    .map(Some),
                None => Ok(None),
            }
        },
    );
    // Messages shown as this page's turns (their ids change rarely; tokens do not touch them).
    let turn_ids = Memo::new(move |_| chat.turn_message_ids(id.get().as_deref()));
    let live_here = Memo::new(move |_| {
        chat.live
            .with(|l| l.as_ref().is_some_and(|t| t.conversation_id == id.get()))
    });

    // An answer still being generated (a reload, another tab): follow it live.
    Effect::new(move |_| {
        let Some(Ok(Some(detail))) = detail.get() else {
            return;
        };
        let Some(conversation) = id.get_untracked() else {
            return;
        };
        let followed = chat.live.with_untracked(|l| {
            l.as_ref()
                .is_some_and(|t| t.conversation_id.as_deref() == Some(conversation.as_str()))
        });
        if !followed && let Some(turn) = LiveTurn::resume(&conversation, &detail.messages) {
            chat_stream::resume(chat, turn);
        }
    });

    let navigate = use_navigate();
    let ask = Callback::new(move |question: String| {
        if chat.is_streaming() {
            return;
        }
        let navigate = navigate.clone();
        let on_new: Rc<dyn Fn(String)> =
            Rc::new(move |id: String| navigate(&format!("/c/{id}"), Default::default()));
        chat_stream::send(chat, id.get_untracked(), question, on_new);
    });

    // Follow the answer unless the person scrolled up to read.
    let list = NodeRef::<Div>::new();
    let end = NodeRef::<Div>::new();
    let following = RwSignal::new(true);
    Effect::new(move |_| {
        chat.live.track();
        if following.get_untracked()
            && let Some(end) = end.get()
        {
            end.scroll_into_view_with_bool(false);
        }
    });
    // Older messages, loaded when the person scrolls to the top (a long conversation opens
    // with only its latest messages).
    let older = RwSignal::new(Vec::<Message>::new());
    let older_more = RwSignal::new(None::<bool>);
    let loading_older = RwSignal::new(false);
    let shown_first = StoredValue::new((None::<String>, false));
    Effect::new(move |_| {
        id.track();
        older.set(Vec::new());
        older_more.set(None);
    });
    let load_older = move || {
        let (first_stored, stored_more) = shown_first.get_value();
        let before = older
            .with_untracked(|o| o.first().map(|m| m.id.clone()))
            .or(first_stored);
        let more = older_more.get_untracked().unwrap_or(stored_more);
        let (Some(before), Some(conversation)) = (before, id.get_untracked()) else {
            return;
        };
        if !more || loading_older.get_untracked() {
            return;
        }
        loading_older.set(true);
        leptos::task::spawn_local(async move {
            let height_before = list.get_untracked().map(|l| l.scroll_height());
            let page = with_refresh(|| older_messages(conversation.clone(), before.clone())).await;
            if let Ok((mut messages, more)) = page {
                older.update(|o| {
                    messages.append(o);
                    *o = messages;
                });
                older_more.set(Some(more));
                // Keep what the person was reading where it was.
                request_animation_frame(move || {
                    if let (Some(l), Some(h)) = (list.get_untracked(), height_before) {
                        l.set_scroll_top(l.scroll_top() + l.scroll_height() - h);
                    }
                });
            }
            loading_older.set(false);
        });
    };
    let on_scroll = move |_| {
        if let Some(list) = list.get() {
            let from_bottom = list.scroll_height() - list.scroll_top() - list.client_height();
            following.set(from_bottom <= FOLLOW_MARGIN);
            if list.scroll_top() < FOLLOW_MARGIN {
                load_older();
            }
        }
    };
    let jump = move |_| {
        following.set(true);
        if let Some(end) = end.get() {
            end.scroll_into_view_with_bool(false);
        }
    };

    // Everything that depends on the conversation (closed or not) renders inside the
    // Transition, so the server and the hydrating browser build the same structure.
    view! {
        <section class="conversation">
            <Transition fallback=|| view! { <div class="message-list"><div class="skeleton" aria-busy="true"></div></div> }>
                {move || Suspend::new(async move {
                    let detail = detail.await;
                    let closed = matches!(&detail, Ok(Some(d)) if d.conversation.status == "closed");
                    if let Ok(Some(d)) = &detail {
                        shown_first.set_value((d.messages.first().map(|m| m.id.clone()), d.has_more));
                    }
                    let settings = match &detail {
                        Ok(d) => {
                            let conversation = d.as_ref().map(|d| d.conversation.clone());
                            Some(view! { <ConversationSettings conversation /> })
                        }
                        Err(_) => None,
                    };
                    // Only this part follows the turns (so the composer and the live answer
                    // are not rebuilt when a turn starts or ends).
                    let detail = StoredValue::new(detail);
                    let stored = move || match detail.get_value() {
                        Ok(detail) => stored_messages(detail, turn_ids.get(), live_here.get(), ask).into_any(),
                        Err(AppError::NotFound(_)) => view! { <p class="muted">{t().not_found}</p> }.into_any(),
                        Err(e) => view! { <p class="form-error">{crate::i18n::error_message(&e)}</p> }.into_any(),
                    };
                    view! {
                        {settings}
                        <div class="message-list" data-testid="message-list" node_ref=list on:scroll=on_scroll
                            role="region" aria-label=t().messages tabindex="0">
                            {move || loading_older.get().then(|| view! { <p class="muted older-loading">{t().loading}</p> })}
                            // Keyed: loading a page of older messages adds only those.
                            <For each=move || older.get() key=|m| m.id.clone() let:m>
                                <MessageView role=m.role content=m.content status=m.status />
                            </For>
                            {stored}
                            {move || earlier_turns(chat, id.get())}
                            {move || live_here.get().then(|| view! { <LiveTurnView ask /> })}
                            <div class="scroll-end" node_ref=end></div>
                        </div>
                        <Show when=move || !following.get()>
                            <button type="button" class="jump-to-latest" data-testid="jump-to-latest" on:click=jump>
                                {t().jump_to_latest}
                            </button>
                        </Show>
                        {closed.then(|| view! {
                            <p class="closed-note muted" role="status" data-testid="closed-note">{t().closed_note}</p>
                        })}
                        <Composer conversation_id=id closed />
                    }
                })}
            </Transition>
        </section>
    }
}

/// Whether an answer ended in a way worth retrying.
fn retryable(status: MessageStatus) -> bool {
    matches!(
        status,
        MessageStatus::Failed | MessageStatus::Stopped | MessageStatus::Interrupted
    )
}

/// Turns of this conversation that ended since the page loaded.
fn earlier_turns(chat: ChatState, conversation: Option<String>) -> impl IntoView {
    chat.earlier
        .get()
        .into_iter()
        .filter(|t| conversation.is_some() && t.conversation_id == conversation)
        .map(|t| {
            view! {
                <MessageView role=MessageRole::User content=t.question status=MessageStatus::Complete />
                <MessageView role=MessageRole::Assistant content=t.answer status=t.status error=t.error />
            }
        })
        .collect_view()
}

fn stored_messages(
    detail: Option<ConversationDetail>,
    turn_ids: Vec<String>,
    live_here: bool,
    ask: Callback<String>,
) -> impl IntoView {
    let closed = detail
        .as_ref()
        .is_some_and(|d| d.conversation.status == "closed");
    let shown: Vec<Message> = detail
        .map(|d| d.messages)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| !turn_ids.contains(&m.id))
        .collect();
    if shown.is_empty() && !live_here {
        return view! { <EmptyChat ask /> }.into_any();
    }
    // Retry re-asks the last question, when the last answer did not end well.
    let last_question = shown
        .iter()
        .rev()
        .find(|m| m.role == MessageRole::User)
        .map(|m| m.content.clone());
    let last_index = shown.len().saturating_sub(1);
    shown
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let retry = (i == last_index && !live_here && !closed && retryable(m.status))
                .then(|| last_question.clone())
                .flatten()
                .map(|q| Callback::new(move |_| ask.run(q.clone())));
            view! { <MessageView role=m.role content=m.content status=m.status retry=Signal::stored(retry) /> }
        })
        .collect_view()
        .into_any()
}

/// A new chat: a greeting and a few questions to start from.
#[component]
fn EmptyChat(ask: Callback<String>) -> impl IntoView {
    view! {
        <div class="empty-chat" data-testid="empty-chat">
            <p>{t().empty_chat}</p>
            <div class="suggestions">
                {t().suggestions.iter().map(|s| view! {
                    <button type="button" class="suggestion" data-testid="suggestion"
                        on:click=move |_| ask.run(s.to_string())>{*s}</button>
                }).collect_view()}
            </div>
        </div>
    }
}

/// The question being answered and the answer as it streams.
#[component]
fn LiveTurnView(ask: Callback<String>) -> impl IntoView {
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
    let retry = Signal::derive(move || {
        retryable(status.get()).then(|| {
            let q = question.get_untracked();
            Callback::new(move |_| ask.run(q.clone()))
        })
    });
    view! {
        <MessageView role=MessageRole::User content=question status=MessageStatus::Complete />
        {move || queued().map(|n| view! {
            <p class="queued-note" role="status" data-testid="queued">{format!("{} {n}", t().queued)}</p>
        })}
        <MessageView role=MessageRole::Assistant content=answer status error retry />
    }
}
