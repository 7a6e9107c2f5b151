//! Bounded recordings. A node's Recording gains every window's run for as
//! long as the node records; it must stay well under etcd's object limit.
//!
//! Two steps, in this order ([`Recording::bound`]):
//!
//! 1. Runs past [`Bounds::max_runs`] are summarised, the oldest first,
//!    into `earlierRuns` ([`RunSummary`]): how many, the earliest start,
//!    the latest end, the periods covered (overlaps united), what the
//!    recorder dropped, the workload's name. That is all the advisors read
//!    of runs: [`Recording::run_count`] and [`Recording::recorded_seconds`]
//!    give what they gave before summarising. Over the size limit, more
//!    runs are summarised (down to the newest one) before any evidence is
//!    touched.
//! 2. Over [`Bounds::max_bytes`] still, evidence is cut, never silently:
//!    the largest list loses the entries seen in the fewest runs until the
//!    recording fits, and `truncated` says how many each list lost. No
//!    coarsening of these lists is lossless (a flow to one address is not
//!    a flow to its network), so the advice that list is evidence for is
//!    refused ([`Recording::cut`]): a NetworkPolicy advised from the flows
//!    left would block the ones cut.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::recording::{
    Binary, Bounds, Capability, DnsQuery, Endpoint, Evidence, Exec, FileWrite, FileWriteFailure,
    Identity, MergeError, Recording, Run, RunSummary, Span, Syscall, CUTTABLE, MAX_RECORDING_BYTES,
    MAX_SUMMARY_SPANS,
};

/// `spans` sorted, the overlapping and touching ones united.
fn unite_spans(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut united: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match united.last_mut() {
            Some(last) if span.started <= last.ended => last.ended = last.ended.max(span.ended),
            _ => united.push(span),
        }
    }
    united
}

/// The seconds `spans` cover together.
fn covered(spans: Vec<Span>) -> u64 {
    unite_spans(spans).iter().fold(0u64, |total, s| {
        total.saturating_add(s.ended.saturating_sub(s.started))
    })
}

fn span_of(run: &Run) -> Span {
    Span {
        started: run.started,
        ended: run.ended.max(run.started),
    }
}

impl RunSummary {
    /// The summary of `runs` (none when there are none).
    fn of(runs: Vec<Run>) -> Option<RunSummary> {
        let mut summary = RunSummary {
            runs: 0,
            started: u64::MAX,
            ended: 0,
            spans: Vec::with_capacity(runs.len()),
            forgotten_seconds: 0,
            capability_audit: true,
            dropped: BTreeMap::new(),
            workload: None,
        };
        for run in runs {
            let span = span_of(&run);
            summary.runs += 1;
            summary.started = summary.started.min(span.started);
            summary.ended = summary.ended.max(span.ended);
            summary.spans.push(span);
            summary.capability_audit &= run.capability_audit;
            for (kind, count) in run.dropped {
                if count > 0 {
                    let total = summary.dropped.entry(kind).or_default();
                    *total = total.saturating_add(count);
                }
            }
            summary.workload = summary.workload.or(run.workload);
        }
        if summary.runs == 0 {
            return None;
        }
        summary.spans = unite_spans(std::mem::take(&mut summary.spans));
        summary.forget_shortest();
        Some(summary)
    }

    /// This summary and `other`'s runs together.
    pub(crate) fn absorb(mut self, other: RunSummary) -> RunSummary {
        self.runs = self.runs.saturating_add(other.runs);
        self.started = self.started.min(other.started);
        self.ended = self.ended.max(other.ended);
        self.spans.extend(other.spans);
        self.spans = unite_spans(std::mem::take(&mut self.spans));
        self.forgotten_seconds = self
            .forgotten_seconds
            .saturating_add(other.forgotten_seconds);
        self.capability_audit &= other.capability_audit;
        for (kind, count) in other.dropped {
            let total = self.dropped.entry(kind).or_default();
            *total = total.saturating_add(count);
        }
        self.workload = self.workload.or(other.workload);
        self.forget_shortest();
        self
    }

    /// Past [`MAX_SUMMARY_SPANS`], the shortest spans (the earliest of
    /// equals) are forgotten: the time recorded is undercounted, never
    /// overcounted.
    fn forget_shortest(&mut self) {
        if self.spans.len() <= MAX_SUMMARY_SPANS {
            return;
        }
        let mut order: Vec<usize> = (0..self.spans.len()).collect();
        order.sort_by_key(|&i| (self.spans[i].ended.saturating_sub(self.spans[i].started), i));
        let mut forget = vec![false; self.spans.len()];
        for &i in &order[..self.spans.len() - MAX_SUMMARY_SPANS] {
            forget[i] = true;
            let seconds = self.spans[i].ended.saturating_sub(self.spans[i].started);
            self.forgotten_seconds = self.forgotten_seconds.saturating_add(seconds);
        }
        let mut at = 0;
        self.spans.retain(|_| {
            at += 1;
            !forget[at - 1]
        });
    }
}

/// How often an entry was seen: the entries seen in the fewest runs are
/// cut first.
trait Seen {
    fn seen(&self) -> u32;
}

macro_rules! seen_in_runs {
    ($($entry:ty),*) => {
        $(impl Seen for $entry {
            fn seen(&self) -> u32 {
                self.runs
            }
        })*
    };
}
seen_in_runs!(
    Syscall,
    Capability,
    Identity,
    Endpoint,
    DnsQuery,
    FileWrite,
    FileWriteFailure,
    Exec
);

impl Seen for Binary {
    /// Binaries count no runs: the last by path go first.
    fn seen(&self) -> u32 {
        0
    }
}

fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len())
}

/// Cut from `list` the entries seen in the fewest runs (the last of
/// equals) until `over` bytes are freed; how many were cut.
fn cut_list<T: Serialize + Seen>(list: &mut Vec<T>, over: usize) -> u64 {
    let mut order: Vec<usize> = (0..list.len()).collect();
    order.sort_by_key(|&i| (list[i].seen(), Reverse(i)));
    let mut cut = vec![false; list.len()];
    let mut freed = 0usize;
    let mut count = 0u64;
    for i in order {
        if freed >= over {
            break;
        }
        cut[i] = true;
        count += 1;
        // The entry and its comma.
        freed = freed.saturating_add(json_len(&list[i]) + 1);
    }
    let mut at = 0;
    list.retain(|_| {
        at += 1;
        !cut[at - 1]
    });
    count
}

/// Applies `$body` to the list named `$name` (one of [`CUTTABLE`]) of
/// recording `$r`, bound to `$list`.
macro_rules! with_list {
    ($r:expr, $name:expr, |$list:ident| $body:expr) => {
        match $name {
            "workload.syscalls" => {
                let $list = &mut $r.workload.syscalls;
                $body
            }
            "workload.compatSyscalls" => {
                let $list = &mut $r.workload.compat_syscalls;
                $body
            }
            "runtime.syscalls" => {
                let $list = &mut $r.runtime.syscalls;
                $body
            }
            "runtime.compatSyscalls" => {
                let $list = &mut $r.runtime.compat_syscalls;
                $body
            }
            "binaries" => {
                let $list = &mut $r.binaries;
                $body
            }
            "execs" => {
                let $list = &mut $r.execs;
                $body
            }
            "workload.capabilities" => {
                let $list = &mut $r.workload.capabilities;
                $body
            }
            "runtime.capabilities" => {
                let $list = &mut $r.runtime.capabilities;
                $body
            }
            "workload.identities" => {
                let $list = &mut $r.workload.identities;
                $body
            }
            "runtime.identities" => {
                let $list = &mut $r.runtime.identities;
                $body
            }
            "workload.fileWrites" => {
                let $list = &mut $r.workload.file_writes;
                $body
            }
            "runtime.fileWrites" => {
                let $list = &mut $r.runtime.file_writes;
                $body
            }
            "workload.fileWriteFailures" => {
                let $list = &mut $r.workload.file_write_failures;
                $body
            }
            "runtime.fileWriteFailures" => {
                let $list = &mut $r.runtime.file_write_failures;
                $body
            }
            "workload.connects" => {
                let $list = &mut $r.workload.connects;
                $body
            }
            "runtime.connects" => {
                let $list = &mut $r.runtime.connects;
                $body
            }
            "workload.accepts" => {
                let $list = &mut $r.workload.accepts;
                $body
            }
            "runtime.accepts" => {
                let $list = &mut $r.runtime.accepts;
                $body
            }
            "workload.listeners" => {
                let $list = &mut $r.workload.listeners;
                $body
            }
            "runtime.listeners" => {
                let $list = &mut $r.runtime.listeners;
                $body
            }
            "workload.udp" => {
                let $list = &mut $r.workload.udp;
                $body
            }
            "runtime.udp" => {
                let $list = &mut $r.runtime.udp;
                $body
            }
            "workload.dnsQueries" => {
                let $list = &mut $r.workload.dns_queries;
                $body
            }
            "runtime.dnsQueries" => {
                let $list = &mut $r.runtime.dns_queries;
                $body
            }
            other => unreachable!("{other} is not in CUTTABLE"),
        }
    };
}

impl Recording {
    /// How many runs the recording holds: those kept one by one and those
    /// summarised.
    pub fn run_count(&self) -> u64 {
        (self.runs.len() as u64).saturating_add(self.earlier_runs.as_ref().map_or(0, |s| s.runs))
    }

    /// The seconds the runs cover together (overlapping runs, replicas of
    /// one workload, count once), the summarised ones included: the same
    /// as before they were summarised (less the spans a summary forgot,
    /// past [`MAX_SUMMARY_SPANS`]).
    pub fn recorded_seconds(&self) -> u64 {
        let kept = self.runs.iter().map(span_of);
        let summarised = self
            .earlier_runs
            .iter()
            .flat_map(|s| s.spans.iter().copied());
        covered(kept.chain(summarised).collect())
    }

    /// Keep the newest `keep` runs one by one (at least one), the older
    /// ones summarised in `earlierRuns`.
    pub fn summarise_runs(&mut self, keep: usize) {
        let keep = keep.max(1);
        if self.runs.len() <= keep {
            return;
        }
        self.runs.sort();
        let newest = self.runs.split_off(self.runs.len() - keep);
        let older = std::mem::replace(&mut self.runs, newest);
        let summary = RunSummary::of(older);
        self.earlier_runs = match (self.earlier_runs.take(), summary) {
            (Some(a), Some(b)) => Some(a.absorb(b)),
            (a, b) => a.or(b),
        };
    }

    /// Bound the recording ([`Bounds`]): runs past `max_runs` summarised;
    /// over `max_bytes`, more runs summarised, then evidence cut and said
    /// in `truncated` (the module's documentation says why and how). An
    /// error when even that cannot make it fit (its runs' own text, their
    /// commands, is over the limit).
    pub fn bound(&mut self, bounds: &Bounds) -> Result<(), String> {
        self.summarise_runs(bounds.max_runs);
        let mut size = json_len(self);
        while size > bounds.max_bytes && self.runs.len() > 1 {
            self.summarise_runs(self.runs.len() / 2);
            size = json_len(self);
        }
        while size > bounds.max_bytes {
            let mut largest: Option<(usize, &str)> = None;
            for (name, _) in CUTTABLE {
                let bytes = with_list!(self, name, |list| if list.is_empty() {
                    0
                } else {
                    json_len(list)
                });
                if bytes > 0 && largest.is_none_or(|(most, _)| bytes > most) {
                    largest = Some((bytes, name));
                }
            }
            let Some((_, name)) = largest else {
                return Err(format!(
                    "a recording of {size} bytes with every list of evidence emptied: over the {} bytes a Recording may hold (its runs' commands are too long)",
                    bounds.max_bytes
                ));
            };
            let over = size - bounds.max_bytes;
            let count = with_list!(self, name, |list| cut_list(list, over));
            let total = self.truncated.entry(name.to_string()).or_default();
            *total = total.saturating_add(count);
            size = json_len(self);
        }
        Ok(())
    }

    /// [`Recording::merge`], then [`Recording::bound`]: what a Recording
    /// resource holds (the recorder's per-node Recording, the operator's
    /// merged one).
    pub fn merge_bounded(
        recordings: Vec<Recording>,
        bounds: &Bounds,
    ) -> Result<Recording, MergeError> {
        let mut merged = Recording::merge(recordings)?;
        merged.bound(bounds).map_err(MergeError)?;
        Ok(merged)
    }

    /// Why `kind` must not be advised from this recording: its evidence
    /// was cut to keep the recording bounded (named, with how many entries
    /// each list lost); `None` when nothing it reads was cut.
    pub fn cut(&self, kind: Evidence) -> Option<String> {
        let lists: Vec<String> = self
            .truncated
            .iter()
            .filter(|(list, count)| {
                **count > 0
                    && CUTTABLE
                        .iter()
                        .any(|(name, evidence)| name == list && *evidence == kind)
            })
            .map(|(list, count)| format!("{list}: {count} entries"))
            .collect();
        if lists.is_empty() {
            return None;
        }
        Some(format!(
            "{} is not advised: the recording's evidence for it was cut to keep the Recording under {} KiB ({}); advised from the rest, {}. Record it afresh (a new Recording), or over shorter windows",
            kind.name(),
            MAX_RECORDING_BYTES / 1024,
            lists.join(", "),
            kind.harm()
        ))
    }

    /// `earlierRuns` and `truncated` are what a bounded recording writes:
    /// a summary of at least one run, its spans ascending, disjoint and
    /// within its start and end, no more than [`MAX_SUMMARY_SPANS`]; only
    /// lists that can be cut named as cut.
    pub(crate) fn check_bounds(&self) -> Result<(), String> {
        if let Some(summary) = &self.earlier_runs {
            if summary.runs == 0 {
                return Err("earlierRuns: a summary of no runs".into());
            }
            if summary.started > summary.ended {
                return Err(format!(
                    "earlierRuns: started {} after ended {}",
                    summary.started, summary.ended
                ));
            }
            if summary.spans.len() > MAX_SUMMARY_SPANS {
                return Err(format!(
                    "earlierRuns.spans: {} spans, over the {MAX_SUMMARY_SPANS} a summary may hold",
                    summary.spans.len()
                ));
            }
            let mut previous: Option<Span> = None;
            for (at, span) in summary.spans.iter().enumerate() {
                let inside = summary.started <= span.started
                    && span.started <= span.ended
                    && span.ended <= summary.ended;
                let after = previous.is_none_or(|p| p.ended < span.started);
                if !inside || !after {
                    return Err(format!(
                        "earlierRuns.spans[{at}]: {}..{} is not a period after the one before, within {}..{}",
                        span.started, span.ended, summary.started, summary.ended
                    ));
                }
                previous = Some(*span);
            }
        }
        for list in self.truncated.keys() {
            if !CUTTABLE.iter().any(|(name, _)| name == list) {
                return Err(format!(
                    "truncated: {list:?} is not a list a recording may cut"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::{Activity, DEFAULT_MAX_RUNS};
    use std::net::IpAddr;

    fn run(started: u64, ended: u64) -> Run {
        Run {
            started,
            ended,
            kernel: "6.18".into(),
            command: Vec::new(),
            exit_status: None,
            capability_audit: true,
            dropped: BTreeMap::new(),
            workload: None,
        }
    }

    /// One window of a long-lived container on one node: the syscalls and
    /// peers it always has, and one peer of its own (pods come and go).
    fn window(index: u64, started: u64, ended: u64) -> Recording {
        let peer = |address: IpAddr, port| Endpoint {
            address,
            port,
            count: 1,
            runs: 1,
        };
        let workload = Activity {
            syscalls: [0, 1, 3, 60]
                .iter()
                .map(|n| Syscall::new(*n, "x86_64", false))
                .collect(),
            connects: vec![
                peer(IpAddr::from([10, 0, 0, 1]), 5432),
                peer(
                    IpAddr::from([10, 1, (index / 250) as u8, (index % 250) as u8]),
                    80,
                ),
            ],
            ..Activity::default()
        };
        let mut r = run(started, ended);
        if index % 100 == 7 {
            r.dropped = BTreeMap::from([("flows".to_string(), 1)]);
        }
        Recording::of_one_run("x86_64", r, None, Vec::new(), workload, Activity::default())
    }

    /// 2,000 ten-minute windows: mostly back to back, now and then a gap
    /// (the recorder restarted), now and then overlapping the one before.
    fn windows() -> Vec<Recording> {
        let mut at = 1_700_000_000u64;
        (0..2000u64)
            .map(|i| {
                if i % 37 == 0 {
                    at += 3600;
                }
                let started = if i % 11 == 0 { at - 30 } else { at };
                at += 600;
                window(i, started, at)
            })
            .collect()
    }

    #[test]
    fn a_long_lived_nodes_recording_stays_bounded() {
        let all = windows();
        let unbounded = Recording::merge(all.clone()).unwrap();
        assert_eq!(unbounded.runs.len(), 2000);
        let mut node: Option<Recording> = None;
        let mut largest = 0;
        for (i, w) in all.into_iter().enumerate() {
            // As the recorder publishes: the node's Recording and the new
            // window, merged and bounded, each window.
            let merged = match node.take() {
                Some(old) => Recording::merge_bounded(vec![old, w], &Bounds::default()),
                None => Recording::merge_bounded(vec![w], &Bounds::default()),
            }
            .unwrap();
            assert!(merged.runs.len() <= DEFAULT_MAX_RUNS);
            largest = largest.max(json_len(&merged));
            // What the resource stores reads back, checked (now and then:
            // a debug build's JSON is slow).
            if i % 50 == 0 {
                let text = serde_json::to_vec(&merged).unwrap();
                assert_eq!(Recording::from_json("node", &text).unwrap(), merged);
            }
            node = Some(merged);
        }
        let node = node.unwrap();
        assert!(largest <= MAX_RECORDING_BYTES, "{largest} bytes");
        assert_eq!(node.runs.len(), DEFAULT_MAX_RUNS);
        assert!(node.truncated.is_empty());
        // What the advisors read is what the unbounded recording gives.
        assert_eq!(node.run_count(), 2000);
        assert_eq!(node.recorded_seconds(), unbounded.recorded_seconds());
        assert_eq!(node.dropped(), unbounded.dropped());
        assert_eq!(node.workload, unbounded.workload);
        assert_eq!(node.runs[..], unbounded.runs[2000 - DEFAULT_MAX_RUNS..]);
        let summary = node.earlier_runs.as_ref().unwrap();
        assert_eq!(summary.runs, 2000 - DEFAULT_MAX_RUNS as u64);
        assert_eq!(summary.started, unbounded.runs[0].started);
        assert_eq!(summary.forgotten_seconds, 0);
        // Bounding the unbounded recording at once gives the same.
        let mut once = unbounded.clone();
        once.bound(&Bounds::default()).unwrap();
        assert_eq!(once, node);
        // Nor do the order and grouping the windows arrive in: a hundred at
        // a time, the last first.
        let mut groups: Vec<Recording> = windows()
            .chunks(100)
            .map(|c| Recording::merge_bounded(c.to_vec(), &Bounds::default()).unwrap())
            .collect();
        groups.reverse();
        let grouped = groups
            .into_iter()
            .reduce(|a, b| Recording::merge_bounded(vec![a, b], &Bounds::default()).unwrap())
            .unwrap();
        assert_eq!(grouped, node);
    }

    #[test]
    fn merged_summaries_count_overlapping_replicas_once() {
        // Two nodes' replicas over the same hours, each summarised: the
        // merged recording covers those hours once.
        let node = |offset: u64| {
            let all: Vec<Recording> = (0..200u64)
                .map(|i| {
                    let started = 1_000_000 + i * 600 + offset;
                    window(i, started, started + 600)
                })
                .collect();
            Recording::merge_bounded(all, &Bounds::default()).unwrap()
        };
        let (a, b) = (node(0), node(120));
        let merged =
            Recording::merge_bounded(vec![a.clone(), b.clone()], &Bounds::default()).unwrap();
        let mut all: Vec<Recording> = Vec::new();
        for offset in [0, 120] {
            all.extend((0..200u64).map(|i| {
                let started = 1_000_000 + i * 600 + offset;
                window(i, started, started + 600)
            }));
        }
        let unbounded = Recording::merge(all).unwrap();
        assert_eq!(merged.recorded_seconds(), unbounded.recorded_seconds());
        assert_eq!(merged.recorded_seconds(), 200 * 600 + 120);
        assert_eq!(merged.run_count(), 400);
        assert_eq!(
            merged,
            Recording::merge_bounded(vec![b, a], &Bounds::default()).unwrap()
        );
    }

    #[test]
    fn past_the_spans_kept_time_is_undercounted_never_overcounted() {
        // Every run apart from the others: more periods than a summary keeps.
        let all: Vec<Recording> = (0..(MAX_SUMMARY_SPANS as u64 + 200))
            .map(|i| window(i, i * 1000, i * 1000 + 1 + i % 7))
            .collect();
        let unbounded = Recording::merge(all).unwrap();
        let mut bounded = unbounded.clone();
        bounded.bound(&Bounds::default()).unwrap();
        let summary = bounded.earlier_runs.as_ref().unwrap();
        assert_eq!(summary.spans.len(), MAX_SUMMARY_SPANS);
        assert!(summary.forgotten_seconds > 0);
        assert_eq!(
            bounded.recorded_seconds() + summary.forgotten_seconds,
            unbounded.recorded_seconds()
        );
        assert_eq!(bounded.run_count(), unbounded.run_count());
        let text = serde_json::to_vec(&bounded).unwrap();
        assert_eq!(Recording::from_json("r", &text).unwrap(), bounded);
    }

    #[test]
    fn evidence_over_the_limit_is_cut_and_said_and_its_advice_refused() {
        // A workload that talks to a new address every window: its flows
        // outgrow any limit.
        let all: Vec<Recording> = (0..4000u64)
            .map(|i| {
                let mut w = window(i, i * 600, i * 600 + 600);
                w.workload.connects.push(Endpoint {
                    address: IpAddr::from([192, 168, (i / 256) as u8, (i % 256) as u8]),
                    port: 443,
                    count: 1,
                    runs: 1,
                });
                w
            })
            .collect();
        let bounds = Bounds {
            max_runs: 8,
            max_bytes: 64 * 1024,
        };
        let unbounded = Recording::merge(all).unwrap();
        let bounded = Recording::merge_bounded(vec![unbounded.clone()], &bounds).unwrap();
        assert!(json_len(&bounded) <= bounds.max_bytes);
        let cut = bounded.truncated["workload.connects"];
        assert_eq!(
            bounded.workload.connects.len() as u64 + cut,
            unbounded.workload.connects.len() as u64
        );
        // The peer seen in every run is kept: the least seen go first.
        assert!(bounded
            .workload
            .connects
            .iter()
            .any(|c| c.port == 5432 && c.runs == 4000));
        assert_eq!(bounded.truncated.len(), 1, "{:?}", bounded.truncated);
        // Nothing else was touched.
        assert_eq!(bounded.workload.syscalls, unbounded.workload.syscalls);
        let why = bounded.cut(Evidence::NetworkPolicy).unwrap();
        assert!(
            why.starts_with("a NetworkPolicy is not advised")
                && why.contains(&format!("workload.connects: {cut} entries"))
                && why.contains("block traffic"),
            "{why}"
        );
        assert_eq!(bounded.cut(Evidence::Seccomp), None);
        assert_eq!(bounded.cut(Evidence::SecurityContext), None);
        // It reads back, and stays cut when merged with more.
        let text = serde_json::to_vec(&bounded).unwrap();
        let read = Recording::from_json("r", &text).unwrap();
        assert_eq!(read, bounded);
        let more = Recording::merge_bounded(vec![read, window(9, 1, 2)], &bounds).unwrap();
        assert!(more.truncated["workload.connects"] >= cut);
        assert!(more.cut(Evidence::NetworkPolicy).is_some());
        // Every run but the newest was summarised before any evidence was
        // cut.
        assert_eq!(bounded.runs.len(), 1);
        assert_eq!(bounded.run_count(), 4000);
    }

    #[test]
    fn runs_are_summarised_before_evidence_is_cut() {
        let mut r = Recording::merge((0..64).map(|i| window(0, i, i + 1)).collect()).unwrap();
        for run in &mut r.runs {
            run.command = vec!["x".repeat(2000)];
        }
        let fits = json_len(&r) - 64 * 1000;
        r.bound(&Bounds {
            max_runs: 64,
            max_bytes: fits,
        })
        .unwrap();
        assert!(r.runs.len() < 64 && r.truncated.is_empty());
        assert_eq!(r.run_count(), 64);
        // A run alone over the limit cannot be made to fit: refused.
        let mut huge = window(0, 1, 2);
        huge.runs[0].command = vec!["x".repeat(10_000)];
        let error = huge
            .bound(&Bounds {
                max_runs: 1,
                max_bytes: 4096,
            })
            .unwrap_err();
        assert!(error.contains("over the 4096 bytes"), "{error}");
    }

    #[test]
    fn a_summary_is_checked_when_read() {
        let mut r =
            Recording::merge((0..70).map(|i| window(i, i * 10, i * 10 + 5)).collect()).unwrap();
        r.bound(&Bounds::default()).unwrap();
        let value = serde_json::to_value(&r).unwrap();
        let read = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut v = value.clone();
            change(&mut v);
            Recording::from_json("r.json", &serde_json::to_vec(&v).unwrap())
        };
        assert_eq!(read(&|_| {}).unwrap(), r);
        let error = read(&|v| v["earlierRuns"]["runs"] = 0.into()).unwrap_err();
        assert_eq!(error, "r.json: earlierRuns: a summary of no runs");
        let error = read(&|v| v["earlierRuns"]["spans"][1]["started"] = 0.into()).unwrap_err();
        assert!(
            error.starts_with("r.json: earlierRuns.spans[1]: 0..15"),
            "{error}"
        );
        let error = read(&|v| {
            v["earlierRuns"]["spans"] = serde_json::Value::Array(
                (0..=MAX_SUMMARY_SPANS as u64)
                    .map(|i| serde_json::json!({"started": i * 2, "ended": i * 2}))
                    .collect(),
            );
            v["earlierRuns"]["ended"] = u64::MAX.into();
        })
        .unwrap_err();
        assert!(error.contains("over the 1024"), "{error}");
        let error =
            read(&|v| v["truncated"] = serde_json::json!({"workload.everything": 1})).unwrap_err();
        assert!(
            error.contains("\"workload.everything\" is not a list"),
            "{error}"
        );
        // A summary names the workload its runs were recorded as.
        let mut named = r.clone();
        named.earlier_runs.as_mut().unwrap().workload = Some("web".into());
        assert_eq!(named.workload_name(), Some("web"));
    }
}
