//! What Ollama is sent: the system prompt and the conversation so far.

use crate::{
    model::{MessageRole, MessageView},
    server::ollama::wire::ChatMessage,
};

/// Most messages of history sent along with a question.
pub const MAX_HISTORY: i64 = 100;

/// Builds `/api/chat` messages; empty and failed-without-text answers are left out.
pub fn to_ollama(system_prompt: &str, history: &[MessageView]) -> Vec<ChatMessage> {
    let system = (!system_prompt.trim().is_empty()).then(|| ChatMessage {
        role: "system".into(),
        content: system_prompt.to_string(),
    });
    system
        .into_iter()
        .chain(
            history
                .iter()
                .filter(|m| !m.content.is_empty() && m.role != MessageRole::System)
                .map(|m| ChatMessage {
                    role: m.role.as_str().to_string(),
                    content: m.content.clone(),
                }),
        )
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
        );
        let roles: Vec<_> = out.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "user"]);
        assert_eq!(to_ollama(" ", &[msg(MessageRole::User, "hi")]).len(), 1);
    }
}
