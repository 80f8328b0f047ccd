//! The prompted check-in protocol.
//!
//! A check-in app prompts for a short string of digits or words. The protocol draws from a
//! manifest of single words or digits. Each speaker is enrolled once on K of their utterances
//! played one after the other. Each trial tests one recording of M other utterances, played
//! the same way, against one enrolled speaker: the same speaker for a target trial, another
//! speaker for a non-target trial. Test utterances never come from a speaker's enrolment.
//!
//! The draws depend only on the manifest's contents (speakers and paths are sorted first), the
//! parameters and the seed, so a seed always gives the same trials.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use super::cohort::CohortEntry;
use super::manifest::{Manifest, ManifestEntry};
use super::protocol::{Recording, Side, Trial, TrialSet};
use super::rng::SplitMix64;
use super::trials::{MAX_FILES_PER_SIDE, SIDE_SEPARATOR};
use super::EvalError;

/// Most trials one run may draw: ten times the VoxCeleb1-O list, and a bound on memory.
pub const MAX_TRIALS: usize = 10_000_000;

/// The parameters of one draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptedProtocol {
    /// Utterances per enrolment, K.
    pub enroll_utterances: usize,
    /// Utterances per test recording, M.
    pub test_utterances: usize,
    /// Trials to draw: even-numbered trials (from 0) are targets, odd ones non-targets, so an
    /// odd count has one more target.
    pub trials: usize,
    pub seed: u64,
    /// Speakers held out of the trials to form an AS-norm cohort; 0 holds out none.
    pub cohort_speakers: usize,
}

/// The drawn trials and, when speakers were held out, their cohort recordings.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptedDraw {
    pub trial_set: TrialSet,
    /// Recordings of the held-out speakers, each M of their utterances played one after the
    /// other, so that the cohort sounds like the test recordings.
    pub cohort: Vec<CohortEntry>,
    /// Speakers left out because they have fewer than K + M utterances.
    pub skipped_speakers: Vec<String>,
}

struct Enrolled<'m> {
    side: usize,
    /// Utterances not used for enrolment, from which test recordings are drawn.
    test_pool: Vec<&'m ManifestEntry>,
}

impl PromptedProtocol {
    pub fn validate(&self) -> Result<(), EvalError> {
        let invalid = |name: &'static str, value: usize, reason: &str| EvalError::InvalidSetting {
            name,
            value: value.to_string(),
            reason: reason.to_string(),
        };
        for (name, value) in [
            ("--enroll-utts", self.enroll_utterances),
            ("--test-utts", self.test_utterances),
        ] {
            if value == 0 || value > MAX_FILES_PER_SIDE {
                return Err(invalid(
                    name,
                    value,
                    &format!("must be between 1 and {MAX_FILES_PER_SIDE}"),
                ));
            }
        }
        if self.trials < 2 || self.trials > MAX_TRIALS {
            return Err(invalid(
                "--num-trials",
                self.trials,
                &format!("must be between 2 and {MAX_TRIALS}"),
            ));
        }
        Ok(())
    }

    /// Draws the trials from `manifest`.
    pub fn draw(&self, manifest: &Manifest) -> Result<PromptedDraw, EvalError> {
        self.validate()?;

        let groups = manifest.by_speaker();
        let needed = self.enroll_utterances + self.test_utterances;
        let (mut eligible, skipped): (Vec<&str>, Vec<&str>) = groups
            .keys()
            .copied()
            .partition(|speaker| groups[speaker].len() >= needed);

        let cohort_speakers = self.hold_out_cohort_speakers(&mut eligible)?;
        if eligible.len() < 2 {
            return Err(EvalError::NotEnoughSpeakers {
                found: eligible.len(),
                needed: 2,
                utterances: needed,
            });
        }

        let mut trial_set = TrialSet::default();
        let enrolled = self.enrol(manifest, &groups, &eligible, &mut trial_set);
        self.draw_trials(manifest, &enrolled, &mut trial_set);

        let cohort = self.cohort_recordings(manifest, &groups, &cohort_speakers);
        Ok(PromptedDraw {
            trial_set,
            cohort,
            skipped_speakers: skipped.into_iter().map(str::to_string).collect(),
        })
    }

    /// Moves `cohort_speakers` speakers, drawn with the seed, out of `eligible`.
    fn hold_out_cohort_speakers<'m>(
        &self,
        eligible: &mut Vec<&'m str>,
    ) -> Result<Vec<&'m str>, EvalError> {
        if self.cohort_speakers == 0 {
            return Ok(Vec::new());
        }
        if self.cohort_speakers + 2 > eligible.len() {
            return Err(EvalError::InvalidSetting {
                name: "--cohort-speakers",
                value: self.cohort_speakers.to_string(),
                reason: format!(
                    "{} speakers qualify and at least 2 must remain for the trials",
                    eligible.len()
                ),
            });
        }

        let mut generator = SplitMix64::for_purpose(self.seed, "cohort speakers");
        let drawn: BTreeSet<usize> = generator
            .sample_indices(eligible.len(), self.cohort_speakers)
            .into_iter()
            .collect();
        let cohort = drawn.iter().map(|&i| eligible[i]).collect();
        let mut index = 0;
        eligible.retain(|_| {
            index += 1;
            !drawn.contains(&(index - 1))
        });
        Ok(cohort)
    }

    /// Enrols every trial speaker on K utterances, in the order drawn.
    fn enrol<'m>(
        &self,
        manifest: &Manifest,
        groups: &BTreeMap<&'m str, Vec<&'m ManifestEntry>>,
        speakers: &[&'m str],
        trial_set: &mut TrialSet,
    ) -> Vec<Enrolled<'m>> {
        let mut generator = SplitMix64::for_purpose(self.seed, "enrolment");
        speakers
            .iter()
            .map(|&speaker| {
                let utterances = &groups[speaker];
                let drawn = generator.sample_indices(utterances.len(), self.enroll_utterances);
                let chosen: Vec<&ManifestEntry> = drawn.iter().map(|&i| utterances[i]).collect();
                let test_pool = utterances
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !drawn.contains(i))
                    .map(|(_, e)| *e)
                    .collect();

                trial_set.sides.push(prompted_side(manifest, &chosen));
                Enrolled {
                    side: trial_set.sides.len() - 1,
                    test_pool,
                }
            })
            .collect()
    }

    /// Draws the trials. Enrolled speakers take turns, separately for targets and
    /// non-targets, so each speaker claims about the same number of both. The impostor of a
    /// non-target trial is drawn uniformly from the other speakers.
    fn draw_trials(
        &self,
        manifest: &Manifest,
        enrolled: &[Enrolled<'_>],
        trial_set: &mut TrialSet,
    ) {
        let mut generator = SplitMix64::for_purpose(self.seed, "trials");
        let mut side_index = HashMap::new();
        let speakers = enrolled.len();

        for i in 0..self.trials {
            let target = i % 2 == 0;
            let claimed = (i / 2) % speakers;
            let speaking = if target {
                claimed
            } else {
                let other = generator.below(speakers - 1);
                if other >= claimed {
                    other + 1
                } else {
                    other
                }
            };
            let speaking = &enrolled[speaking];

            let drawn = generator.sample_indices(speaking.test_pool.len(), self.test_utterances);
            let utterances: Vec<&ManifestEntry> =
                drawn.iter().map(|&i| speaking.test_pool[i]).collect();
            let test = trial_set.intern_side(&mut side_index, prompted_side(manifest, &utterances));
            trial_set.trials.push(Trial {
                target,
                enroll: enrolled[claimed].side,
                test,
            });
        }
    }

    /// Splits each held-out speaker's utterances, shuffled with the seed, into recordings of M.
    fn cohort_recordings(
        &self,
        manifest: &Manifest,
        groups: &BTreeMap<&str, Vec<&ManifestEntry>>,
        speakers: &[&str],
    ) -> Vec<CohortEntry> {
        let mut generator = SplitMix64::for_purpose(self.seed, "cohort recordings");
        let mut cohort = Vec::new();
        for &speaker in speakers {
            let mut utterances = groups[speaker].clone();
            generator.shuffle(&mut utterances);
            for chunk in utterances.chunks_exact(self.test_utterances) {
                let files: Vec<PathBuf> = chunk.iter().map(|e| manifest.resolve(e)).collect();
                cohort.push(CohortEntry {
                    recording: Recording::concatenation(files),
                    speaker: speaker.to_string(),
                });
            }
        }
        cohort
    }
}

/// Builds a side that plays `utterances` one after the other, named by their paths joined
/// by `+`.
fn prompted_side(manifest: &Manifest, utterances: &[&ManifestEntry]) -> Side {
    let separator = SIDE_SEPARATOR.to_string();
    let name = utterances
        .iter()
        .map(|e| e.relative_path.as_str())
        .collect::<Vec<_>>()
        .join(&separator);
    let files = utterances.iter().map(|e| manifest.resolve(e)).collect();
    let speakers = utterances.iter().map(|e| e.speaker.clone()).collect();
    Side {
        name,
        recordings: vec![Recording::concatenation(files)],
        speakers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// `speakers` speakers with `utterances` utterances each.
    fn manifest(speakers: usize, utterances: usize) -> Manifest {
        let mut text = String::from("relative_path\tspeaker_id\n");
        for s in 0..speakers {
            for u in 0..utterances {
                text.push_str(&format!("s{s}/{u:02}.wav\ts{s}\n"));
            }
        }
        Manifest::parse(&text, Path::new("MANIFEST.tsv"), Path::new("/data")).unwrap()
    }

    fn protocol(trials: usize, seed: u64) -> PromptedProtocol {
        PromptedProtocol {
            enroll_utterances: 3,
            test_utterances: 2,
            trials,
            seed,
            cohort_speakers: 0,
        }
    }

    fn speaker_of(side: &Side) -> &str {
        assert_eq!(side.speakers.len(), 1, "a prompted side has one speaker");
        side.speakers.iter().next().unwrap()
    }

    #[test]
    fn same_seed_gives_same_trials() {
        let manifest = manifest(5, 8);
        let first = protocol(40, 59).draw(&manifest).unwrap();
        let second = protocol(40, 59).draw(&manifest).unwrap();
        let other = protocol(40, 60).draw(&manifest).unwrap();
        assert_eq!(first, second);
        assert_ne!(first.trial_set, other.trial_set);
    }

    #[test]
    fn half_of_trials_are_targets() {
        let draw = protocol(41, 59).draw(&manifest(4, 8)).unwrap();
        let targets = draw.trial_set.trials.iter().filter(|t| t.target).count();
        assert_eq!(draw.trial_set.trials.len(), 41);
        assert_eq!(targets, 21);
    }

    #[test]
    fn labels_match_speakers() {
        let draw = protocol(200, 59).draw(&manifest(4, 8)).unwrap();
        let set = &draw.trial_set;
        for trial in &set.trials {
            let same = speaker_of(&set.sides[trial.enroll]) == speaker_of(&set.sides[trial.test]);
            assert_eq!(same, trial.target);
        }
    }

    #[test]
    fn test_utterances_avoid_enrolment() {
        let draw = protocol(200, 59).draw(&manifest(4, 8)).unwrap();
        let set = &draw.trial_set;
        for trial in set.trials.iter().filter(|t| t.target) {
            let enrolled = set.sides[trial.enroll].recordings[0].files().to_vec();
            let tested = set.sides[trial.test].recordings[0].files();
            assert_eq!(enrolled.len(), 3);
            assert_eq!(tested.len(), 2);
            assert!(tested.iter().all(|file| !enrolled.contains(file)));
        }
    }

    #[test]
    fn each_speaker_is_enrolled_once() {
        let draw = protocol(100, 59).draw(&manifest(4, 8)).unwrap();
        let set = &draw.trial_set;
        let enrolments: BTreeSet<usize> = set.trials.iter().map(|t| t.enroll).collect();
        assert_eq!(enrolments.len(), 4);
    }

    #[test]
    fn side_names_join_relative_paths() {
        let draw = protocol(2, 59).draw(&manifest(2, 5)).unwrap();
        let name = &draw.trial_set.sides[0].name;
        assert_eq!(name.split('+').count(), 3);
        assert!(name.starts_with("s0/"));
    }

    #[test]
    fn speakers_without_enough_utterances_are_skipped() {
        let mut text = String::from("relative_path\tspeaker_id\n");
        for s in 0..3 {
            for u in 0..5 {
                text.push_str(&format!("s{s}/{u}.wav\ts{s}\n"));
            }
        }
        text.push_str("short/0.wav\tshort\n");
        let manifest = Manifest::parse(&text, Path::new("M"), Path::new("/")).unwrap();

        let draw = protocol(10, 1).draw(&manifest).unwrap();
        assert_eq!(draw.skipped_speakers, vec!["short".to_string()]);
        assert!(draw.trial_set.speakers().iter().all(|s| *s != "short"));
    }

    #[test]
    fn cohort_speakers_are_held_out() {
        let protocol = PromptedProtocol {
            cohort_speakers: 2,
            ..protocol(100, 59)
        };
        let draw = protocol.draw(&manifest(6, 8)).unwrap();

        let cohort_speakers: BTreeSet<&str> =
            draw.cohort.iter().map(|e| e.speaker.as_str()).collect();
        assert_eq!(cohort_speakers.len(), 2);
        assert!(cohort_speakers.is_disjoint(&draw.trial_set.speakers()));
        // 8 utterances per speaker give 4 recordings of 2.
        assert_eq!(draw.cohort.len(), 8);
    }

    #[test]
    fn too_few_speakers_are_rejected() {
        let error = protocol(10, 1).draw(&manifest(1, 8)).unwrap_err();
        assert!(matches!(
            error,
            EvalError::NotEnoughSpeakers { found: 1, .. }
        ));
    }

    #[test]
    fn zero_utterances_are_rejected() {
        let protocol = PromptedProtocol {
            test_utterances: 0,
            ..protocol(10, 1)
        };
        let error = protocol.draw(&manifest(3, 8)).unwrap_err();
        assert!(matches!(
            error,
            EvalError::InvalidSetting {
                name: "--test-utts",
                ..
            }
        ));
    }
}
