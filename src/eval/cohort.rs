//! AS-norm cohorts: recordings of speakers who appear in no trial.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::cache::Digest;
use super::manifest::Manifest;
use super::protocol::{Recording, TrialSet};
use super::EvalError;

/// One cohort recording and its speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortEntry {
    pub recording: Recording,
    pub speaker: String,
}

/// Makes every file of `manifest` a cohort recording.
pub fn cohort_from_manifest(manifest: &Manifest) -> Vec<CohortEntry> {
    manifest
        .entries()
        .iter()
        .map(|entry| CohortEntry {
            recording: Recording::File(manifest.resolve(entry)),
            speaker: entry.speaker.clone(),
        })
        .collect()
}

/// Checks that no cohort speaker speaks in a trial and that no cohort file is a trial file.
/// Speaker ids are compared as strings, so ids from different corpora that happen to be equal
/// are rejected too.
pub fn check_speakers_disjoint(cohort: &[CohortEntry], trials: &TrialSet) -> Result<(), EvalError> {
    if let Some(side) = trials.sides.iter().find(|side| side.speakers.is_empty()) {
        return Err(EvalError::TrialSpeakersUnknown {
            side: side.name.clone(),
        });
    }

    let trial_speakers = trials.speakers();
    let shared: BTreeSet<&str> = cohort
        .iter()
        .map(|e| e.speaker.as_str())
        .filter(|s| trial_speakers.contains(s))
        .collect();
    if !shared.is_empty() {
        return Err(EvalError::CohortSpeakersInTrials {
            speakers: shared.into_iter().map(str::to_string).collect(),
        });
    }

    let trial_files = trials.files();
    let shared_file = cohort
        .iter()
        .flat_map(|e| e.recording.files())
        .find(|f| trial_files.contains(f.as_path()));
    if let Some(file) = shared_file {
        return Err(EvalError::CohortFileInTrials {
            cohort_file: file.clone(),
            trial_file: file.clone(),
        });
    }
    Ok(())
}

/// Checks that no cohort file has the content of a trial file, which catches copies of a
/// trial recording under another name.
pub fn check_contents_disjoint(
    cohort: &[CohortEntry],
    trials: &TrialSet,
    digests: &HashMap<PathBuf, Digest>,
) -> Result<(), EvalError> {
    let trial_files: HashMap<&Digest, &Path> = trials
        .files()
        .into_iter()
        .filter_map(|file| digests.get(file).map(|d| (d, file)))
        .collect();

    for file in cohort.iter().flat_map(|e| e.recording.files()) {
        let Some(digest) = digests.get(file) else {
            continue;
        };
        if let Some(trial_file) = trial_files.get(digest) {
            return Err(EvalError::CohortFileInTrials {
                cohort_file: file.clone(),
                trial_file: trial_file.to_path_buf(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::protocol::{Side, Trial};

    fn trial_set(speakers: &[&str]) -> TrialSet {
        let sides = speakers
            .iter()
            .map(|speaker| Side {
                name: format!("{speaker}.wav"),
                recordings: vec![Recording::File(format!("/trials/{speaker}.wav").into())],
                speakers: [speaker.to_string()].into(),
            })
            .collect();
        TrialSet {
            sides,
            trials: vec![Trial {
                target: false,
                enroll: 0,
                test: 1,
            }],
        }
    }

    fn entry(path: &str, speaker: &str) -> CohortEntry {
        CohortEntry {
            recording: Recording::File(path.into()),
            speaker: speaker.to_string(),
        }
    }

    #[test]
    fn disjoint_cohort_is_accepted() {
        let cohort = [entry("/cohort/c.wav", "C")];
        check_speakers_disjoint(&cohort, &trial_set(&["A", "B"])).unwrap();
    }

    #[test]
    fn shared_speaker_is_rejected() {
        let cohort = [entry("/cohort/c.wav", "C"), entry("/cohort/b.wav", "B")];
        let error = check_speakers_disjoint(&cohort, &trial_set(&["A", "B"])).unwrap_err();
        assert!(
            matches!(error, EvalError::CohortSpeakersInTrials { speakers } if speakers == ["B"])
        );
    }

    #[test]
    fn shared_file_is_rejected() {
        let cohort = [entry("/trials/A.wav", "C")];
        let error = check_speakers_disjoint(&cohort, &trial_set(&["A", "B"])).unwrap_err();
        assert!(matches!(error, EvalError::CohortFileInTrials { .. }));
    }

    #[test]
    fn unknown_trial_speakers_are_rejected() {
        let mut set = trial_set(&["A", "B"]);
        set.sides[1].speakers.clear();
        let error = check_speakers_disjoint(&[entry("/c.wav", "C")], &set).unwrap_err();
        assert!(matches!(error, EvalError::TrialSpeakersUnknown { side } if side == "B.wav"));
    }

    #[test]
    fn copied_trial_file_is_rejected() {
        let digests: HashMap<PathBuf, Digest> = [
            ("/trials/A.wav".into(), [1; 32]),
            ("/trials/B.wav".into(), [2; 32]),
            ("/cohort/copy.wav".into(), [2; 32]),
        ]
        .into();
        let cohort = [entry("/cohort/copy.wav", "C")];
        let error =
            check_contents_disjoint(&cohort, &trial_set(&["A", "B"]), &digests).unwrap_err();
        assert!(
            matches!(error, EvalError::CohortFileInTrials { trial_file, .. } if trial_file == Path::new("/trials/B.wav"))
        );
    }
}
