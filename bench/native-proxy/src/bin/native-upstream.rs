//! make bench's fast upstream: the emulator's answers (per request 50% PNG,
//! 40% PDF, 10% the corrupt PDF, the same files from `doc-fixtures`, the same
//! Content-Types) from a plain hyper server. The emulator is a component on
//! our own host and shares the machine's two cores with everything else; with
//! this upstream the bench measures the proxies rather than the emulator.
//! `LISTEN_ADDR` (default 127.0.0.1:0); the bound address is printed.
//! With `UPSTREAM_FILES_DIR` set, it serves the real upstream's three files from
//! that directory (`dummy.png`, `dummy.pdf`, `corrupt-dummy.pdf`) instead of the
//! fixtures: the real PNG inflates to 8.7 MB of image data against the
//! fixture's far smaller one, so the miss path's cost depends on which is served.

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use std::cell::Cell;
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Files {
    png: Bytes,
    pdf: Bytes,
    corrupt: Bytes,
}

thread_local! {
    /// xorshift64 state per thread: the shares only need to be right on average.
    static STATE: Cell<u64> = Cell::new(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64)
            | 1,
    );
}

/// A uniform draw from 0..100.
fn percent_roll() -> u64 {
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        x % 100
    })
}

#[tokio::main]
async fn main() {
    let files = Arc::new(match std::env::var_os("UPSTREAM_FILES_DIR") {
        Some(dir) => {
            let dir = std::path::PathBuf::from(dir);
            let read = |name: &str| -> Bytes {
                let path = dir.join(name);
                std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .into()
            };
            eprintln!("native-upstream serving the files in {}", dir.display());
            Files {
                png: read("dummy.png"),
                pdf: read("dummy.pdf"),
                corrupt: read("corrupt-dummy.pdf"),
            }
        }
        None => Files {
            png: doc_fixtures::png().into(),
            pdf: doc_fixtures::pdf().into(),
            corrupt: doc_fixtures::corrupt_pdf().into(),
        },
    });
    let listen = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind LISTEN_ADDR");
    // Scripts wait for this line.
    eprintln!("native-upstream listening on {}", listener.local_addr().expect("bound"));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let files = files.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |_request| {
                let (content_type, body) = match percent_roll() {
                    r if r < 10 => ("application/pdf", files.corrupt.clone()),
                    r if r < 60 => ("image/png", files.png.clone()),
                    _ => ("application/pdf", files.pdf.clone()),
                };
                let response = http::Response::builder()
                    .header("content-type", content_type)
                    .body(Full::new(body))
                    .expect("valid headers");
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
