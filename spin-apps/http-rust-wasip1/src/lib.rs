use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

/// Answers every request on its route with a greeting, as Spin 3.4's
/// `http-rust` template does; the full URL goes to the component's stdout.
#[http_component]
fn handle_http_rust_wasip1(req: Request) -> anyhow::Result<impl IntoResponse> {
    println!("Handling request to {:?}", req.header("spin-full-url"));
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body("Hello World!")
        .build())
}
