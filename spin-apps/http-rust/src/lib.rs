use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_service;

/// Answers every request on its route with a greeting, as Spin's current
/// `http-rust` template does (an async `wasi:http` 0.3 rc handler); the full
/// URL goes to the component's stdout.
#[http_service]
async fn handle_http_rust(req: Request) -> anyhow::Result<impl IntoResponse> {
    println!("Handling request to {:?}", req.headers().get("spin-full-url"));
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body("Hello World!".to_string()))
}
