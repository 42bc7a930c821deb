use spin_sdk::http_component;

/// The callee of the self-request examples: a greeting, whoever asks.
#[http_component]
fn hello_world(_req: http::Request<()>) -> anyhow::Result<http::Response<&'static str>> {
    Ok(http::Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body("Hello, Fermyon!\n")?)
}
