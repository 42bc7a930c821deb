use anyhow::Result;
use spin_sdk::{
    http::{IntoResponse, Request, Response},
    http_component,
};

/// Fetches the app's own `hello-component` and answers its response with a
/// `spin-component` header added.
///
/// Under a route starting `/chained` the call names the component directly
/// (`http://hello-component.spin.internal/hello`, Spin's local service
/// chaining); under `/self-alt` it names the app as `self.alt` (Spin's name
/// for itself, for clients that need a host); elsewhere it is a relative URL
/// (`/hello`). Spin sends the last two to the app itself through its router.
/// Each needs the component's `allowed_outbound_hosts` to allow it
/// (`http://self`, or the `.spin.internal` host); without, the send fails,
/// and the handler's error answers 500.
#[http_component]
async fn send_outbound(req: Request) -> Result<impl IntoResponse> {
    let path = req.path();
    let url = if path.starts_with("/chained") {
        "http://hello-component.spin.internal/hello"
    } else if path.starts_with("/self-alt") {
        "http://self.alt/hello"
    } else {
        "/hello"
    };
    let resp: Response = spin_sdk::http::send(Request::get(url)).await?;
    let resp = resp
        .into_builder()
        .header("spin-component", "rust-outbound-http")
        .build();
    println!("{resp:?}");
    Ok(resp)
}
