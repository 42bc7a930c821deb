//! File descriptors: what the host may hold open at once (client
//! connections, every instance's outbound calls and sockets, its own files and epoll),
//! checked against the process's limit at start. The soft limit is raised to
//! what the flags need (at most the hard limit, as Go and nginx do), so the
//! usual 1024 of a login shell does not cut the host short of its own plan;
//! a plan the hard limit cannot hold is refused with the flags named.

/// Descriptors besides connections: the listeners, epoll, the log, the
/// compile cache, and some room.
const BASE: u64 = 128;

/// Descriptors the host may need at once.
pub fn needed(client_connections: u64, instances: u32, outbound_per_instance: u32) -> u64 {
    BASE + client_connections + u64::from(instances) * u64::from(outbound_per_instance)
}

/// Raises the soft limit to `needed` if it is lower; refuses when the hard
/// limit is lower. Returns the soft limit in force.
pub fn ensure(needed: u64) -> Result<u64, String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("reading RLIMIT_NOFILE: {}", std::io::Error::last_os_error()));
    }
    let (soft, hard): (u64, u64) = (limit.rlim_cur, limit.rlim_max);
    if needed > hard {
        return Err(format!(
            "the host may need {needed} file descriptors (--max-connections, and --max-outbound-per-request per \
             instance), more than this process's hard limit {hard}; lower those flags or raise the limit (ulimit -Hn)"
        ));
    }
    if soft >= needed {
        return Ok(soft);
    }
    limit.rlim_cur = needed;
    // SAFETY: setrlimit reads the struct it is given; the value is within the hard limit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!(
            "raising RLIMIT_NOFILE to {needed}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_need_adds_connections_and_every_instances_calls() {
        assert_eq!(needed(1024 + 32, 32, 8), BASE + 1056 + 256);
    }

    #[test]
    fn a_need_past_the_hard_limit_is_refused_with_the_flags() {
        let e = ensure(u64::MAX / 2).unwrap_err();
        assert!(e.contains("--max-outbound-per-request"), "{e}");
        // What this process already has is always granted.
        assert!(ensure(16).unwrap() >= 16);
    }
}
