//! Each component's share of the instances (`max_concurrent_requests` in its
//! `[component.X.tool.doc-proxy-host]` table), kept per component id across
//! reloads. A reload hands the new version the same semaphore as the old one,
//! resized, so requests still running on the old version count against the
//! new version's share: a component never holds more than its share, not
//! twice it while old requests finish.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// The shares of every component this host has served.
#[derive(Default)]
pub struct Shares {
    by_component: Mutex<HashMap<Arc<str>, Share>>,
}

struct Share {
    permits: Arc<Semaphore>,
    /// What the share is now; permits in use may exceed it for a while after
    /// it shrank (the surplus is retired as they come back).
    size: u32,
}

impl Shares {
    /// The semaphore of component `id`, holding `size` permits in all from
    /// now on. Growing adds permits at once; shrinking retires free permits
    /// at once and busy ones as their requests end, so the component gets no
    /// new instance until it is under its new share. Needs a tokio runtime
    /// when a share shrinks below its permits in use.
    pub fn share(&self, id: &Arc<str>, size: u32) -> Arc<Semaphore> {
        let mut shares = self
            .by_component
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let share = shares.entry(id.clone()).or_insert_with(|| Share {
            permits: Arc::new(Semaphore::new(size as usize)),
            size,
        });
        if size > share.size {
            share.permits.add_permits((size - share.size) as usize);
        } else if size < share.size {
            let surplus = (share.size - size) as usize;
            let retired_now = share.permits.forget_permits(surplus);
            let later = surplus - retired_now;
            if later > 0 {
                // Queued first, so the permits coming back reach this task
                // before any new request (tokio's semaphore is fair).
                let permits = share.permits.clone();
                tokio::spawn(async move {
                    if let Ok(retired) = permits.acquire_many_owned(later as u32).await {
                        retired.forget();
                    }
                });
            }
        }
        share.size = size;
        share.permits.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_share_carries_over_a_reload_instead_of_doubling() {
        let shares = Shares::default();
        let id: Arc<str> = "doc-proxy".into();
        let first = shares.share(&id, 2);
        let busy = [
            first.clone().try_acquire_owned().unwrap(),
            first.clone().try_acquire_owned().unwrap(),
        ];
        // A reload with the same share: the new version sees the old one's
        // requests, so it gets no third instance.
        let second = shares.share(&id, 2);
        assert!(Arc::ptr_eq(&first, &second));
        assert!(second.clone().try_acquire_owned().is_err());
        drop(busy);
        assert_eq!(second.available_permits(), 2);
    }

    #[tokio::test]
    async fn a_share_grows_at_once_and_shrinks_as_requests_end() {
        let shares = Shares::default();
        let id: Arc<str> = "c".into();
        let permits = shares.share(&id, 3);
        let busy: Vec<_> = (0..3).map(|_| permits.clone().try_acquire_owned().unwrap()).collect();
        shares.share(&id, 5);
        assert_eq!(permits.available_permits(), 2, "grown at once");

        // Shrink to 1 while 3 are busy and 2 free: the 2 free go at once, 2
        // more as requests end, and no new request gets in until then.
        shares.share(&id, 1);
        assert_eq!(permits.available_permits(), 0);
        tokio::task::yield_now().await;
        let mut busy = busy.into_iter();
        drop(busy.next());
        drop(busy.next());
        tokio::task::yield_now().await;
        assert!(
            permits.clone().try_acquire_owned().is_err(),
            "still at its new share: 1 busy"
        );
        drop(busy.next());
        tokio::task::yield_now().await;
        assert_eq!(permits.available_permits(), 1);
        assert!(permits.clone().try_acquire_owned().is_ok());
    }

    #[tokio::test]
    async fn components_have_shares_of_their_own() {
        let shares = Shares::default();
        let a = shares.share(&"a".into(), 1);
        let b = shares.share(&"b".into(), 1);
        let _held = a.clone().try_acquire_owned().unwrap();
        assert!(b.try_acquire_owned().is_ok());
    }
}
