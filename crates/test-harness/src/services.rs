//! Real service servers for the tests, each the test's own: started on a
//! free loopback port in a temporary directory and stopped when dropped.
//! A server whose program is not installed gives `None` and says so on
//! stderr, and the test skips, except under `CI`, where it fails: `.ci/run`
//! installs them all, and a check that did not run must not pass there.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where `program` is: on `PATH`, or else in one of `extra` directories.
pub fn find_program(program: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Says that a test is skipped because `program` is not installed; under
/// `CI` the test fails instead.
pub fn skipped(test: &str, program: &str, package: &str) {
    let reason = format!("{test}: {program} is not installed (apt-get install {package}; .ci/run installs it)");
    assert!(std::env::var_os("CI").is_none(), "not run under CI: {reason}");
    eprintln!("SKIPPED {reason}");
}

/// Waits until something listens on `port`, or panics naming `what`.
fn wait_listening(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `redis-server` of the test's own.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    /// Connections `command` opened, kept out of `connections_received`.
    own: AtomicU64,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// `None` (and a line on stderr) when `redis-server` is not installed.
    pub fn start(test: &str) -> Option<RedisServer> {
        let Some(program) = find_program("redis-server", &[]) else {
            skipped(test, "redis-server", "redis-server");
            return None;
        };
        let port = crate::closed_port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(program)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        wait_listening(port, "redis-server", &mut child);
        Some(RedisServer {
            child,
            port,
            own: AtomicU64::new(0),
            _dir: dir,
        })
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Sends one command on a connection of its own and answers the reply
    /// as the server wrote it (RESP, one reply).
    pub fn command(&self, args: &[&str]) -> String {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        self.own.fetch_add(1, Ordering::SeqCst);
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        match first.strip_prefix('$') {
            Some(length) => match length.trim().parse::<i64>().unwrap() {
                -1 => "(nil)".into(),
                length => {
                    let mut bulk = vec![0; length as usize + 2];
                    reader.read_exact(&mut bulk).unwrap();
                    String::from_utf8_lossy(&bulk[..length as usize]).into_owned()
                }
            },
            None => first.trim_end().to_string(),
        }
    }

    /// Connections the server has accepted since it started, as it counts
    /// them (`INFO stats`), less those the test's own `command`s opened.
    pub fn connections_received(&self) -> u64 {
        let stats = self.command(&["INFO", "stats"]);
        let total: u64 = stats
            .lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .expect("INFO stats counts connections")
            .trim()
            .parse()
            .unwrap();
        total - self.own.load(Ordering::SeqCst)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL server of the test's own: a fresh cluster (`initdb`, trust
/// authentication on loopback, user `postgres`), run as the `postgres`
/// user when the test runs as root (the server refuses root).
pub struct PostgresServer {
    child: Child,
    pub port: u16,
    /// `pg_ctl stop` for the cluster, as its owner.
    stop: Command,
    /// The CA whose certificate the server presents, when it has TLS.
    pub ca_pem: Option<String>,
    _dir: tempfile::TempDir,
}

impl PostgresServer {
    /// `None` (and a line on stderr) when PostgreSQL is not installed.
    pub fn start(test: &str) -> Option<PostgresServer> {
        PostgresServer::with(test, false)
    }

    /// A server with TLS (`ssl=on`), its certificate for `127.0.0.1` and
    /// `localhost` signed by a CA made for the test ([`Self::ca_pem`]);
    /// clients may still connect without TLS.
    pub fn start_tls(test: &str) -> Option<PostgresServer> {
        PostgresServer::with(test, true)
    }

    fn with(test: &str, tls: bool) -> Option<PostgresServer> {
        let versions: Vec<String> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|dirs| {
                dirs.filter_map(|d| d.ok())
                    .map(|d| d.path().join("bin").display().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let extra: Vec<&str> = versions.iter().map(String::as_str).collect();
        let (Some(initdb), Some(postgres), Some(pg_ctl)) = (
            find_program("initdb", &extra),
            find_program("postgres", &extra),
            find_program("pg_ctl", &extra),
        ) else {
            skipped(test, "PostgreSQL (initdb, postgres)", "postgresql");
            return None;
        };
        let port = crate::closed_port();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let certificates = match tls {
            true => Some(crate::certificates::TestCertificates::make(test, dir.path())?),
            false => None,
        };
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc_geteuid() } == 0;
        let as_owner = |program: &std::path::Path| {
            if root {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            } else {
                Command::new(program)
            }
        };
        if root {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(owned.success(), "chown the cluster's directory to postgres");
        }
        let init = as_owner(&initdb)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(init.success(), "initdb");
        let log = dir.path().join("postgres.log");
        let mut child = as_owner(&postgres)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-h", "127.0.0.1", "-k"])
            .arg(dir.path())
            .args(certificates.iter().flat_map(|c| {
                [
                    "-c".to_string(),
                    "ssl=on".to_string(),
                    "-c".to_string(),
                    format!("ssl_cert_file={}", c.server_certificate.display()),
                    "-c".to_string(),
                    format!("ssl_key_file={}", c.server_key.display()),
                ]
            }))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        wait_listening(port, "postgres", &mut child);
        // It listens before it accepts sessions ("starting up").
        let deadline = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("ready to accept connections")
        {
            assert!(Instant::now() < deadline, "postgres did not get ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut stop = as_owner(&pg_ctl);
        stop.args(["stop", "-m", "fast", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Some(PostgresServer {
            child,
            port,
            stop,
            ca_pem: certificates.map(|c| c.ca_pem),
            _dir: dir,
        })
    }

    /// The key-value connection string Spin's examples use, for `dbname`.
    pub fn connection_string(&self, dbname: &str) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname={dbname}", self.port)
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = self.stop.status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A MariaDB server of the test's own: a fresh data directory
/// (`mariadb-install-db`), on loopback only, with its grant tables skipped
/// (any user and password are let in, as the tests need no accounts) and a
/// database `spin_dev`; run as root when the test is (`--user=root`).
pub struct MariadbServer {
    child: Child,
    pub port: u16,
    client: PathBuf,
    /// Connections `sql` opened, kept out of `connections_received`.
    own: AtomicU64,
    _dir: tempfile::TempDir,
}

impl MariadbServer {
    /// `None` (and a line on stderr) when MariaDB is not installed.
    pub fn start(test: &str) -> Option<MariadbServer> {
        let sbin = ["/usr/sbin"];
        let found = |names: &[&str], extra: &[&str]| names.iter().find_map(|name| find_program(name, extra));
        let (Some(install), Some(server), Some(client)) = (
            found(&["mariadb-install-db", "mysql_install_db"], &[]),
            found(&["mariadbd", "mysqld"], &sbin),
            found(&["mariadb", "mysql"], &[]),
        ) else {
            skipped(
                test,
                "MariaDB (mariadb-install-db, mariadbd, mariadb)",
                "mariadb-server",
            );
            return None;
        };
        let port = crate::closed_port();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // SAFETY: geteuid has no preconditions.
        let user = if unsafe { libc_geteuid() } == 0 {
            "--user=root".to_string()
        } else {
            format!("--user={}", std::env::var("USER").unwrap_or_default())
        };
        let installed = Command::new(install)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                user.as_str(),
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(installed.success(), "mariadb-install-db");
        let path = |name: &str| dir.path().join(name).display().to_string();
        let mut child = Command::new(server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", path("mysqld.sock")))
            .arg(format!("--pid-file={}", path("mysqld.pid")))
            .arg(format!("--log-error={}", path("mysqld.log")))
            .args([
                user.as_str(),
                &format!("--port={port}"),
                "--bind-address=127.0.0.1",
                "--skip-grant-tables",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=8M",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        wait_listening(port, "mariadbd", &mut child);
        let server = MariadbServer {
            child,
            port,
            client,
            own: AtomicU64::new(0),
            _dir: dir,
        };
        server.sql("CREATE DATABASE spin_dev");
        Some(server)
    }

    /// `mysql://spin:spin@127.0.0.1:PORT/spin_dev`, as Spin's examples
    /// address theirs.
    pub fn url(&self) -> String {
        format!("mysql://spin:spin@127.0.0.1:{}/spin_dev", self.port)
    }

    /// Runs `statements` with the server's own client on a connection of
    /// its own and answers what it printed (tab-separated, no headers).
    pub fn sql(&self, statements: &str) -> String {
        self.own.fetch_add(1, Ordering::SeqCst);
        let output = Command::new(&self.client)
            .args(["--no-defaults", "-h", "127.0.0.1", "-u", "root", "-N", "-B"])
            .arg(format!("-P{}", self.port))
            .args(["-e", statements])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{statements}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim_end().to_string()
    }

    /// Connections the server has counted since it started (`Connections`:
    /// every attempt, even one refused), less those `sql` opened.
    pub fn connections_received(&self) -> u64 {
        let counted = self.sql("SHOW GLOBAL STATUS LIKE 'Connections'");
        let total: u64 = counted
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("the server counts connections");
        // This very `sql` is counted in what it read.
        total - self.own.load(Ordering::SeqCst)
    }
}

impl Drop for MariadbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// A loopback TCP listener that accepts connections, counts them and says
/// nothing: a destination whose count shows whether anything connected.
pub struct CountingListener {
    pub port: u16,
    accepted: std::sync::Arc<AtomicU64>,
}

impl CountingListener {
    pub fn start() -> CountingListener {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(AtomicU64::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        CountingListener { port, accepted }
    }

    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A `mosquitto` broker of the test's own, anonymous clients allowed (or,
/// from [`MosquittoServer::refusing`], every client refused), logging every
/// connection to a file the test reads as the broker's own count.
pub struct MosquittoServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
    /// Connections the test's own subscribers opened.
    own: std::sync::Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

impl MosquittoServer {
    /// `None` (and a line on stderr) when `mosquitto` is not installed.
    pub fn start(test: &str) -> Option<MosquittoServer> {
        MosquittoServer::with(test, true)
    }

    /// A broker that answers every CONNECT with "not authorised".
    pub fn refusing(test: &str) -> Option<MosquittoServer> {
        MosquittoServer::with(test, false)
    }

    fn with(test: &str, anonymous: bool) -> Option<MosquittoServer> {
        let Some(program) = find_program("mosquitto", &["/usr/sbin"]) else {
            skipped(test, "mosquitto", "mosquitto");
            return None;
        };
        let port = crate::closed_port();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("mosquitto.log");
        let config = dir.path().join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                // `user root`: started as root, the broker would become
                // `mosquitto` and could not write its log in our directory.
                "user root\nlistener {port} 127.0.0.1\nallow_anonymous {anonymous}\npersistence false\n\
                 log_dest file {}\nlog_type all\nconnection_messages true\n",
                log.display()
            ),
        )
        .unwrap();
        let mut child = Command::new(program)
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        wait_listening(port, "mosquitto", &mut child);
        let server = MosquittoServer {
            child,
            port,
            log,
            own: Default::default(),
            _dir: dir,
        };
        // `wait_listening`'s own probe is a connection too, logged when the
        // broker gets to it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.logged("New connection from") == 0 {
            assert!(Instant::now() < deadline, "mosquitto never logged its first connection");
            std::thread::sleep(Duration::from_millis(10));
        }
        server.own.store(server.logged("New connection from"), Ordering::SeqCst);
        Some(server)
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Lines of the broker's log that contain `text`.
    pub fn logged(&self, text: &str) -> u64 {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines().filter(|l| l.contains(text)).count() as u64
    }

    /// Connections the broker has accepted, as its log counts them, less
    /// the test's own.
    pub fn connections_received(&self) -> u64 {
        self.logged("New connection from") - self.own.load(Ordering::SeqCst)
    }

    /// A subscriber to `filter`, subscribed when this returns.
    pub fn subscribe(&self, filter: &str) -> Subscriber {
        use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
        self.own.fetch_add(1, Ordering::SeqCst);
        let mut options = MqttOptions::new(format!("test-subscriber-{}", self.port), "127.0.0.1", self.port);
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut connection) = Client::new(options, 10);
        client.subscribe(filter, QoS::ExactlyOnce).unwrap();
        let (sender, received) = std::sync::mpsc::channel();
        let (subscribed, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = subscribed.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(message))) => {
                        let qos = message.qos as u8;
                        if sender.send((message.topic, message.payload.to_vec(), qos)).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
        ready
            .recv_timeout(Duration::from_secs(10))
            .expect("the broker acknowledges the subscription");
        Subscriber {
            _client: client,
            received,
        }
    }
}

/// Messages a [`MosquittoServer::subscribe`] subscriber received.
pub struct Subscriber {
    _client: rumqttc::Client,
    received: std::sync::mpsc::Receiver<(String, Vec<u8>, u8)>,
}

impl Subscriber {
    /// The next message (topic, payload, QoS as delivered), waiting up to
    /// `within`.
    pub fn next(&self, within: Duration) -> Option<(String, Vec<u8>, u8)> {
        self.received.recv_timeout(within).ok()
    }
}

impl Drop for MosquittoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
