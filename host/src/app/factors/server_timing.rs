//! The Server-Timing factor: each component's recorder of the entries it
//! reports (`ops::server_timing`), with a label budget of its own that is
//! spent once per component, not once per version, and whose series go with
//! the component when a reload removes it.

use crate::app::factors::{Configure, Factor, Prepare};
use crate::ops::metrics::Metrics;
use crate::ops::server_timing::Recorder;
use std::sync::Arc;

pub struct ServerTimingFactor {
    pub metrics: Metrics,
}

impl Factor for ServerTimingFactor {
    type ComponentState = Arc<Recorder>;
    type InstanceState = ();

    fn configure(&self, ctx: &Configure<'_>, previous: Option<&Arc<Recorder>>) -> anyhow::Result<Arc<Recorder>> {
        Ok(previous
            .cloned()
            .unwrap_or_else(|| Arc::new(Recorder::new(self.metrics.clone(), ctx.id.clone()))))
    }

    fn prepare(&self, _state: &Arc<Recorder>, _ctx: &Prepare<'_>) {}

    fn retire(&self, _id: &str, state: &Arc<Recorder>) {
        state.retire();
    }
}
