//! Comparison of two fingerprints: landmarks that share a hash vote for the time offset
//! between the recordings, and a replay shows as many votes for one offset.

use super::{Fingerprint, Landmark, Params};

/// A hash that occurs more often than this in either fingerprint is skipped. Such hashes
/// come from stationary sounds (a steady tone repeats the same pair all along), carry no
/// timing, and would make the join quadratic.
const MAX_HASH_REPEATS: usize = 32;

/// How well two fingerprints agree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayMatch {
    /// `matched_hashes` divided by the hash count of the fingerprint with fewer hashes,
    /// from 0 to 1: the share of the shorter recording found in the longer one.
    pub score: f64,
    /// Hashes found in both fingerprints at the best time offset.
    pub matched_hashes: usize,
    /// Where the query starts in the reference: a query frame at `t` seconds lines up with
    /// the reference at `t + offset_seconds`. Zero when nothing matched.
    pub offset_seconds: f64,
    /// Hashes in the query fingerprint.
    pub query_hashes: usize,
    /// Hashes in the reference fingerprint.
    pub reference_hashes: usize,
}

impl ReplayMatch {
    /// Whether the match passes both parts of `threshold`.
    pub fn is_replay(&self, threshold: &ReplayThreshold) -> bool {
        self.score >= threshold.min_score && self.matched_hashes >= threshold.min_matched_hashes
    }
}

/// The decision rule for [`ReplayMatch::is_replay`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayThreshold {
    /// Lowest score that counts as the same recording.
    pub min_score: f64,
    /// Fewest matched hashes that count as the same recording. Between two very short
    /// fingerprints a handful of chance agreements can reach a high score; this keeps them
    /// from deciding.
    pub min_matched_hashes: usize,
}

impl ReplayThreshold {
    /// The threshold chosen on DSPSpeech-20 (see `docs/replay-detection.md`).
    pub const DEFAULT: ReplayThreshold = ReplayThreshold { min_score: 0.10, min_matched_hashes: 10 };
}

impl Default for ReplayThreshold {
    fn default() -> Self {
        ReplayThreshold::DEFAULT
    }
}

/// The best match of a query within a history of fingerprints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryMatch {
    /// Position of the best-matching fingerprint in the history.
    pub index: usize,
    pub best: ReplayMatch,
}

/// Scores how much of `query` and `reference` is the same recording.
///
/// The score is symmetric. An empty fingerprint on either side gives a score of zero.
pub fn match_score(query: &Fingerprint, reference: &Fingerprint) -> ReplayMatch {
    match_with(query, reference, &Params::DEFAULT)
}

/// Scores `query` against every fingerprint of `history` and returns the highest score, or
/// `None` for an empty history.
pub fn best_match<'a>(query: &Fingerprint, history: impl IntoIterator<Item = &'a Fingerprint>) -> Option<HistoryMatch> {
    history
        .into_iter()
        .enumerate()
        .map(|(index, reference)| HistoryMatch { index, best: match_score(query, reference) })
        .max_by(|a, b| a.best.score.total_cmp(&b.best.score).then(b.index.cmp(&a.index)))
}

pub(crate) fn match_with(query: &Fingerprint, reference: &Fingerprint, params: &Params) -> ReplayMatch {
    let votes = offset_votes(&query.landmarks, &reference.landmarks);
    let best = best_offset(votes, params.offset_tolerance, query.landmarks.len(), reference.landmarks.len());

    let shorter = query.landmarks.len().min(reference.landmarks.len());
    let score = if shorter == 0 { 0.0 } else { best.matched as f64 / shorter as f64 };
    ReplayMatch {
        score,
        matched_hashes: best.matched,
        offset_seconds: f64::from(best.offset) * params.seconds_per_frame(),
        query_hashes: query.landmarks.len(),
        reference_hashes: reference.landmarks.len(),
    }
}

/// A pair of landmarks with the same hash: their frame offset and their positions.
#[derive(Clone, Copy)]
struct Vote {
    offset: i32,
    query: u32,
    reference: u32,
}

/// Joins two hash-sorted landmark lists and returns one vote per pair of equal hashes,
/// sorted by offset.
fn offset_votes(query: &[Landmark], reference: &[Landmark]) -> Vec<Vote> {
    let mut votes = Vec::new();
    let (mut q, mut r) = (0, 0);

    while q < query.len() && r < reference.len() {
        let hash = query[q].hash;
        if hash < reference[r].hash {
            q += 1;
            continue;
        }
        if hash > reference[r].hash {
            r += 1;
            continue;
        }

        let query_end = run_end(query, q);
        let reference_end = run_end(reference, r);
        if query_end - q <= MAX_HASH_REPEATS && reference_end - r <= MAX_HASH_REPEATS {
            for (qi, query_landmark) in query.iter().enumerate().take(query_end).skip(q) {
                for (ri, reference_landmark) in reference.iter().enumerate().take(reference_end).skip(r) {
                    let offset = reference_landmark.frame as i32 - query_landmark.frame as i32;
                    votes.push(Vote { offset, query: qi as u32, reference: ri as u32 });
                }
            }
        }
        (q, r) = (query_end, reference_end);
    }

    votes.sort_unstable_by_key(|vote| vote.offset);
    votes
}

/// End of the run of landmarks that share the hash of `landmarks[start]`.
fn run_end(landmarks: &[Landmark], start: usize) -> usize {
    let hash = landmarks[start].hash;
    start + landmarks[start..].iter().take_while(|landmark| landmark.hash == hash).count()
}

struct BestOffset {
    offset: i32,
    matched: usize,
}

/// Finds the window of offsets `[o, o + tolerance]` that the most landmarks vote for.
///
/// A landmark counts once per window even when it votes for two offsets in it, and a
/// window's count is the smaller of its distinct query and distinct reference landmarks,
/// which keeps the score symmetric and at most 1. The reported offset is the most-voted
/// offset within the best window.
fn best_offset(votes: Vec<Vote>, tolerance: u32, query_len: usize, reference_len: usize) -> BestOffset {
    let mut best = BestOffset { offset: 0, matched: 0 };
    if votes.is_empty() {
        return best;
    }

    let mut window = DistinctCounter::new(query_len, reference_len);
    let mut start = 0;
    for end in 0..votes.len() {
        window.add(&votes[end]);
        while votes[end].offset - votes[start].offset > tolerance as i32 {
            window.remove(&votes[start]);
            start += 1;
        }

        let matched = window.distinct();
        if matched > best.matched {
            best = BestOffset { offset: modal_offset(&votes[start..=end]), matched };
        }
    }
    best
}

/// The most frequent offset among `votes`, which are sorted by offset; the earliest wins ties.
fn modal_offset(votes: &[Vote]) -> i32 {
    let mut best = (votes[0].offset, 0);
    for run in votes.chunk_by(|a, b| a.offset == b.offset) {
        if run.len() > best.1 {
            best = (run[0].offset, run.len());
        }
    }
    best.0
}

/// Counts the distinct query and reference landmarks among the votes in a sliding window.
struct DistinctCounter {
    query_uses: Vec<u16>,
    reference_uses: Vec<u16>,
    distinct_query: usize,
    distinct_reference: usize,
}

impl DistinctCounter {
    fn new(query_len: usize, reference_len: usize) -> DistinctCounter {
        DistinctCounter {
            query_uses: vec![0; query_len],
            reference_uses: vec![0; reference_len],
            distinct_query: 0,
            distinct_reference: 0,
        }
    }

    fn add(&mut self, vote: &Vote) {
        increment(&mut self.query_uses[vote.query as usize], &mut self.distinct_query);
        increment(&mut self.reference_uses[vote.reference as usize], &mut self.distinct_reference);
    }

    fn remove(&mut self, vote: &Vote) {
        decrement(&mut self.query_uses[vote.query as usize], &mut self.distinct_query);
        decrement(&mut self.reference_uses[vote.reference as usize], &mut self.distinct_reference);
    }

    fn distinct(&self) -> usize {
        self.distinct_query.min(self.distinct_reference)
    }
}

fn increment(uses: &mut u16, distinct: &mut usize) {
    if *uses == 0 {
        *distinct += 1;
    }
    *uses += 1;
}

fn decrement(uses: &mut u16, distinct: &mut usize) {
    *uses -= 1;
    if *uses == 0 {
        *distinct -= 1;
    }
}
