//! Browser side of the session: the silent refresh, one at a time per page (concurrent calls
//! that all found their token expired share a single refresh).

use std::cell::RefCell;

use futures::{
    FutureExt,
    future::{LocalBoxFuture, Shared},
};
use leptos::prelude::window;
use send_wrapper::SendWrapper;

thread_local! {
    static IN_FLIGHT: RefCell<Option<Shared<LocalBoxFuture<'static, bool>>>> = const { RefCell::new(None) };
}

/// Asks the server for a new access token using the refresh cookie. True on success.
pub async fn refresh() -> bool {
    let shared = IN_FLIGHT.with(|slot| {
        slot.borrow_mut()
            .get_or_insert_with(|| {
                async {
                    let ok = match gloo_net::http::Request::post("/api/v1/auth/refresh")
                        .send()
                        .await
                    {
                        Ok(response) => response.ok(),
                        Err(_) => false,
                    };
                    IN_FLIGHT.with(|slot| slot.borrow_mut().take());
                    ok
                }
                .boxed_local()
                .shared()
            })
            .clone()
    });
    SendWrapper::new(shared).await
}

/// The session is over: show the login page.
pub fn go_to_login() {
    let _ = window().location().set_href("/login");
}
