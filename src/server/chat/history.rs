//! What Ollama is sent: the system prompt and as much of the conversation as fits the context
//! budget, newest kept, oldest dropped first.

use crate::{
    model::{MessageRole, MessageView},
    server::ollama::wire::ChatMessage,
};

/// Most stored messages read to build the history.
pub const MAX_HISTORY: i64 = 200;

/// A deliberately high estimate of a text's tokens (Spanish and code average 3-4 characters
/// per token; each message also costs a few tokens of framing).
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(3) + 4
}

/// Builds `/api/chat` messages. Empty answers are left out; the latest message (the question)
/// is always kept, older ones only while the estimate stays within `budget_tokens`.
pub fn to_ollama(
    system_prompt: &str,
    history: &[MessageView],
    budget_tokens: usize,
) -> Vec<ChatMessage> {
    let system = (!system_prompt.trim().is_empty()).then(|| ChatMessage {
        role: "system".into(),
        content: system_prompt.to_string(),
    });
    let mut used = system.as_ref().map_or(0, |s| estimate_tokens(&s.content));
    let mut kept: Vec<&MessageView> = Vec::new();
    for message in history
        .iter()
        .rev()
        .filter(|m| !m.content.is_empty() && m.role != MessageRole::System)
    {
        let cost = estimate_tokens(&message.content);
        if !kept.is_empty() && used + cost > budget_tokens {
            break;
        }
        used += cost;
        kept.push(message);
    }
    // Never start the history with an orphan answer.
    while kept
        .last()
        .is_some_and(|m| m.role == MessageRole::Assistant)
        && kept.len() > 1
    {
        kept.pop();
    }
    system
        .into_iter()
        .chain(kept.into_iter().rev().map(|m| ChatMessage {
            role: m.role.as_str().to_string(),
            content: m.content.clone(),
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MessageStatus;

    fn msg(role: MessageRole, content: &str) -> MessageView {
        MessageView {
            id: "x".into(),
            role,
            content: content.into(),
            status: MessageStatus::Complete,
            created_at: String::new(),
            meta: None,
        }
    }

    #[test]
    fn system_prompt_first_and_empty_answers_skipped() {
        let out = to_ollama(
            "Be brief",
            &[
                msg(MessageRole::User, "hi"),
                msg(MessageRole::Assistant, ""),
                msg(MessageRole::User, "again"),
            ],
            4096,
        );
        let roles: Vec<_> = out.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "user"]);
        assert_eq!(
            to_ollama(" ", &[msg(MessageRole::User, "hi")], 4096).len(),
            1
        );
    }

    #[test]
    fn oldest_messages_are_dropped_to_fit_the_budget() {
        let long = "palabra ".repeat(150); // ~400 tokens estimated
        let history: Vec<_> = (0..10)
            .flat_map(|i| {
                [
                    msg(MessageRole::User, &format!("pregunta {i} {long}")),
                    msg(MessageRole::Assistant, &format!("respuesta {i} {long}")),
                ]
            })
            .chain([msg(MessageRole::User, "la última pregunta")])
            .collect();
        let out = to_ollama("sistema", &history, 2000);
        let total: usize = out.iter().map(|m| estimate_tokens(&m.content)).sum();
        assert!(total <= 2000, "{total} tokens sent");
        assert_eq!(out[0].role, "system");
        assert_eq!(
            out.last().map(|m| m.content.as_str()),
            Some("la última pregunta")
        );
        assert_eq!(out[1].role, "user", "history starts with a question");
        assert!(out.len() < history.len(), "old messages were dropped");
        assert!(
            out[1].content.starts_with("pregunta 8"),
            "{}",
            &out[1].content[..20]
        );
    }

    #[test]
    fn the_question_is_sent_even_when_alone_it_exceeds_the_budget() {
        let huge = "x".repeat(30_000);
        let out = to_ollama(
            "",
            &[msg(MessageRole::User, "old"), msg(MessageRole::User, &huge)],
            1000,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].content.len(), 30_000);
    }
}
