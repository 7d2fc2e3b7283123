//! An error answered to a signed-in person is shown inside the page they know: the header, the
//! tabs, the name menu and, while an administrator is signed in as someone, the way back.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, ResponseError};
use askama::Template;

use crate::auth::current_user;
use crate::auth::session::SessionState;
use crate::error::AppError;
use crate::web::layout::{Layout, Tab};

#[derive(Template)]
#[template(path = "errors/in_layout.html")]
struct ErrorInLayout<'a> {
    layout: Layout,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// Renders the page of an `AppError` a handler answered (a refusal, a page not found, a form
/// out of date) again inside the layout when the request comes from a signed-in session. Other responses, errors for visitors, and errors of the
/// middleware around the handlers (an expired form) pass as they are.
pub async fn in_layout(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // (No clone of the request may live while it is served: routing needs it unshared.)
    let res = next.call(req).await?.map_into_boxed_body();
    let request = res.request().clone();
    let Some(error) = res.response().error().and_then(|e| e.as_error::<AppError>()) else {
        return Ok(res);
    };
    // The same response (status, headers, and the error for the request log), framed.
    match framed(&request, error).await {
        Some(body) => Ok(res.map_body(|_, _| BoxBody::new(body))),
        None => Ok(res),
    }
}

async fn framed(request: &HttpRequest, error: &AppError) -> Option<String> {
    use actix_session::SessionExt;
    // A server error (the database unavailable or busy, a fault) keeps the bare page: framing
    // it would ask the database again, for every failing request.
    if error.status_code().is_server_error() {
        return None;
    }
    let (title, message) = error.words()?;
    SessionState::new(request.get_session()).user()?;
    let user = current_user::signed_in(request.clone()).await?;
    let page =
        ErrorInLayout { layout: user.layout(title, Tab::None), status: error.status_code().as_u16(), title, message };
    page.render().ok()
}
