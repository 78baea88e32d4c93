//! The OpenAPI 3.1 document of the REST API, generated from the handlers' annotations and
//! served at `/api/v1/openapi.json`.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        self,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{
    server::auth::cookies::ACCESS_COOKIE,
    stream_events::{DoneEvent, ErrorEvent, MetaEvent, QueuedEvent, TokenEvent, Usage},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "energyapp-llm API",
        description = "The private LLM gateway of EnergyApp: conversations and streamed answers \
                       from the company's Ollama. Authenticate with `Authorization: Bearer \
                       <access_token>` from `POST /auth/login` (apps) or the session cookie \
                       (the web app). Errors are `{\"error\": {\"code\", \"message\"}}` with \
                       the matching HTTP status."
    ),
    servers((url = "/api/v1")),
    modifiers(&Security),
    components(schemas(MetaEvent, QueuedEvent, TokenEvent, DoneEvent, ErrorEvent, Usage)),
    tags(
        (name = "auth", description = "Tokens and the caller's account"),
        (name = "conversations", description = "The caller's conversations"),
        (name = "chat", description = "Streamed answers: ask, re-attach, stop"),
        (name = "models", description = "Models installed in Ollama"),
        (name = "admin", description = "For active admins only"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(ACCESS_COOKIE))),
        );
        api.security = Some(vec![
            openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            openapi::security::SecurityRequirement::new("cookie", Vec::<String>::new()),
        ]);
    }
}
