//! A test's own certificate authority and a server certificate it signed,
//! made with the `openssl` command when the test runs (no key is kept in
//! the repository), for servers the tests start with TLS.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A CA and a server certificate for `127.0.0.1` and `localhost`, as PEM
/// files in a directory of the caller's.
pub struct TestCertificates {
    /// The CA's certificate, the text a client trusts.
    pub ca_pem: String,
    pub server_certificate: PathBuf,
    pub server_key: PathBuf,
}

impl TestCertificates {
    /// `None` (and a line on stderr) when `openssl` is not installed.
    pub fn make(test: &str, dir: &Path) -> Option<TestCertificates> {
        let Some(openssl) = crate::services::find_program("openssl", &[]) else {
            crate::services::skipped(test, "openssl", "openssl");
            return None;
        };
        let run = |args: &[&str]| {
            let status = Command::new(&openssl)
                .current_dir(dir)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "openssl {args:?}");
        };
        let p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        run(&[
            &["req", "-x509", "-days", "2", "-subj", "/CN=doc-proxy test CA"][..],
            &p256,
            &["-keyout", "ca.key", "-out", "ca.crt"],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat());
        run(&[
            &["req", "-subj", "/CN=localhost"][..],
            &p256,
            &["-keyout", "server.key", "-out", "server.csr"],
        ]
        .concat());
        // What rustls's verifier requires of a server's certificate: the
        // names it is for, and that it is one.
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ]);
        // A server refuses a key others may read.
        let key = dir.join("server.key");
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        Some(TestCertificates {
            ca_pem: std::fs::read_to_string(dir.join("ca.crt")).unwrap(),
            server_certificate: dir.join("server.crt"),
            server_key: key,
        })
    }
}
