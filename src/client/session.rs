//! Browser side of the session: the silent refresh.

use leptos::prelude::window;
use send_wrapper::SendWrapper;

/// Asks the server for a new access token using the refresh cookie. True on success.
pub async fn refresh() -> bool {
    SendWrapper::new(async {
        match gloo_net::http::Request::post("/api/v1/auth/refresh")
            .send()
            .await
        {
            Ok(response) => response.ok(),
            Err(_) => false,
        }
    })
    .await
}

/// The session is over: show the login page.
pub fn go_to_login() {
    let _ = window().location().set_href("/login");
}
