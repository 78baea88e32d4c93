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
    pub sending: &'static str,
    pub empty_chat: &'static str,
    pub you: &'static str,
    pub assistant: &'static str,
    pub generating: &'static str,
    pub status_failed: &'static str,
    pub status_stopped: &'static str,
    pub status_interrupted: &'static str,
    pub ollama_down: &'static str,
    pub loading: &'static str,
    pub not_found: &'static str,
    pub session_expired: &'static str,
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
    sending: "Generando…",
    empty_chat: "¿En qué puedo ayudarte hoy?",
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
};

/// The strings of the current language.
pub fn t() -> &'static Strings {
    &ES
}
