//! Every visible string of the UI, in one table. Spanish is the default language.

/// The UI's texts.
pub struct Strings {
    pub app_name: &'static str,
    pub login_title: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub new_chat: &'static str,
    pub conversations: &'static str,
    pub no_conversations: &'static str,
    pub composer_placeholder: &'static str,
    pub send: &'static str,
    pub stop: &'static str,
    pub sending: &'static str,
    pub empty_chat: &'static str,
    pub you: &'static str,
    pub assistant: &'static str,
    pub generating: &'static str,
    /// Followed by the position in line.
    pub queued: &'static str,
    pub status_failed: &'static str,
    pub status_stopped: &'static str,
    pub status_interrupted: &'static str,
    pub ollama_down: &'static str,
    pub loading: &'static str,
    pub not_found: &'static str,
    pub session_expired: &'static str,
    pub account: &'static str,
    pub change_password: &'static str,
    pub current_password: &'static str,
    pub new_password: &'static str,
    pub password_rule: &'static str,
    pub password_changed: &'static str,
    pub save: &'static str,
}

pub const ES: Strings = Strings {
    app_name: "EnergyApp IA",
    login_title: "Iniciar sesión",
    email: "Correo electrónico",
    password: "Contraseña",
    sign_in: "Entrar",
    sign_out: "Cerrar sesión",
    new_chat: "Nueva conversación",
    conversations: "Conversaciones",
    no_conversations: "Aún no hay conversaciones.",
    composer_placeholder: "Escribe tu pregunta… (Enter envía, Shift+Enter nueva línea)",
    send: "Enviar",
    stop: "Detener",
    sending: "Generando…",
    empty_chat: "¿En qué puedo ayudarte hoy?",
    queued: "En cola, posición",
    you: "Tú",
    assistant: "Asistente",
    generating: "generando…",
    status_failed: "La respuesta falló",
    status_stopped: "Respuesta detenida",
    status_interrupted: "Respuesta interrumpida",
    ollama_down: "El modelo de lenguaje no está disponible ahora mismo. Las respuestas fallarán hasta que vuelva.",
    loading: "Cargando…",
    not_found: "Página no encontrada.",
    session_expired: "Tu sesión ha terminado. Vuelve a iniciar sesión.",
    account: "Mi cuenta",
    change_password: "Cambiar contraseña",
    current_password: "Contraseña actual",
    new_password: "Nueva contraseña",
    password_rule: "Al menos 10 caracteres. Cambiarla cierra tus otras sesiones.",
    password_changed: "Contraseña cambiada. Tus otras sesiones se han cerrado.",
    save: "Guardar",
};

/// The strings of the current language.
pub fn t() -> &'static Strings {
    &ES
}

/// A person-friendly message for an error, in the UI's language.
pub fn error_message(err: &crate::error::AppError) -> String {
    use crate::error::AppError as E;
    match err {
        E::Unauthorized => t().session_expired.into(),
        E::InvalidCredentials => "Correo o contraseña incorrectos.".into(),
        E::AccountDisabled => "Esta cuenta está desactivada. Habla con un administrador.".into(),
        E::Forbidden => "No tienes permiso para hacer esto.".into(),
        E::NotFound(_) => "No se ha encontrado.".into(),
        E::Validation { field, .. } if field == "current_password" => {
            "La contraseña actual no es correcta.".into()
        }
        E::Validation { field, .. } if field == "password" => {
            "La contraseña debe tener entre 10 caracteres y 72 bytes.".into()
        }
        E::Validation { message, .. } => format!("Revisa los datos: {message}."),
        E::TooManyRequests { retry_after_secs } => {
            format!("Demasiados intentos. Vuelve a intentarlo en {retry_after_secs} s.")
        }
        E::PayloadTooLarge => "El texto es demasiado largo.".into(),
        E::Conflict(_) => "No es posible en el estado actual.".into(),
        E::UnknownModel { .. } => "Ese modelo no está instalado.".into(),
        E::OllamaUnavailable(_) => t().ollama_down.into(),
        E::Busy { retry_after_secs } => {
            format!("Hay mucha demanda ahora mismo. Vuelve a intentarlo en {retry_after_secs} s.")
        }
        E::BadRequest(_) | E::MethodNotAllowed | E::Internal | E::Transport(_) => {
            "Algo ha fallado. Inténtalo de nuevo.".into()
        }
    }
}

/// A person-friendly message for a failed answer, from its error code.
pub fn answer_error(code: &str) -> &'static str {
    match code {
        "client_disconnected" | "server_shutdown" => "La respuesta se interrumpió.",
        "ollama_timeout" => "El modelo dejó de responder.",
        "unknown_model" => "Ese modelo no está instalado.",
        "ollama_unavailable" | "ollama_unreachable" => t().ollama_down,
        "validation_failed" => "Revisa el mensaje: no puede estar vacío ni ser demasiado largo.",
        "payload_too_large" => "El mensaje es demasiado largo.",
        "conflict" => "Esta conversación está cerrada.",
        "not_found" => "Esta conversación no existe.",
        "connection_lost" => "Se perdió la conexión con el servidor.",
        _ => "El modelo falló al responder.",
    }
}
