//! Striped counters: threads count hits and misses without sharing a cache line.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counters that threads add to without sharing a cache line (most of the time).
#[derive(Default)]
pub(super) struct Stats {
    pub(super) hits: Counter,
    pub(super) misses: Counter,
    pub(super) loads: Counter,
    pub(super) coalesced: Counter,
    pub(super) errors: Counter,
    pub(super) stale_served: Counter,
    pub(super) evictions: Counter,
    pub(super) invalidations: Counter,
}

pub(super) const STRIPES: usize = 8;

#[derive(Default)]
#[repr(align(128))]
pub(super) struct Stripe(AtomicU64);

#[derive(Default)]
pub(super) struct Counter([Stripe; STRIPES]);

/// This thread's stripe: threads are spread over the stripes in the order they first ask.
#[inline]
pub(super) fn stripe() -> usize {
    thread_local! {
        pub(super) static STRIPE: usize = {
            pub(super) static NEXT: AtomicUsize = AtomicUsize::new(0);
            NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES
        };
    }
    STRIPE.with(|s| *s)
}

impl Counter {
    #[inline]
    pub(super) fn add(&self) {
        if let Some(stripe) = self.0.get(stripe()) {
            stripe.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn sum(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}
