//! The structure of an evaluation: sides made of recordings, and trials that pair two sides.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::manifest::Manifest;
use super::trials::{self, EnrollMap, TrialEntry};
use super::EvalError;

/// One recording as the encoder hears it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recording {
    /// One audio file.
    File(PathBuf),
    /// Several audio files, each decoded and resampled to 16 kHz, then played one after the
    /// other as one signal: one recording of a prompted string of words or digits. Always
    /// names at least two files.
    Concatenation(Vec<PathBuf>),
}

impl Recording {
    /// Builds the recording of `files` played one after the other. One file is a plain file.
    pub fn concatenation(mut files: Vec<PathBuf>) -> Self {
        if files.len() == 1 {
            Recording::File(files.remove(0))
        } else {
            Recording::Concatenation(files)
        }
    }

    pub fn files(&self) -> &[PathBuf] {
        match self {
            Recording::File(path) => std::slice::from_ref(path),
            Recording::Concatenation(paths) => paths,
        }
    }
}

/// Combination of the files that one side of a trial names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// Each file is a recording, and the side's embedding is the normalised mean of theirs,
    /// as the service enrols a speaker from several clips.
    Mean,
    /// The files form one recording (see [`Recording::Concatenation`]).
    Concatenate,
}

/// One side of a trial: an enrolment or a test.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// The side as the trial list names it: files joined by `+`, or an enrolment id.
    pub name: String,
    /// Recordings whose embeddings are averaged into the side's embedding.
    pub recordings: Vec<Recording>,
    /// Speakers heard on this side, where known.
    pub speakers: BTreeSet<String>,
}

/// A same-speaker or different-speaker comparison of two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trial {
    pub target: bool,
    /// Index into [`TrialSet::sides`].
    pub enroll: usize,
    pub test: usize,
}

/// Trials and the sides they compare, each side stored once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrialSet {
    pub sides: Vec<Side>,
    pub trials: Vec<Trial>,
}

impl TrialSet {
    /// Returns every recording that the trials need, each once, in a stable order.
    pub fn recordings(&self) -> Vec<Recording> {
        let unique: BTreeSet<&Recording> = self
            .sides
            .iter()
            .flat_map(|side| &side.recordings)
            .collect();
        unique.into_iter().cloned().collect()
    }

    /// Returns the speakers heard in any trial.
    pub fn speakers(&self) -> BTreeSet<&str> {
        self.sides
            .iter()
            .flat_map(|side| side.speakers.iter().map(String::as_str))
            .collect()
    }

    /// Returns every file that any trial reads.
    pub fn files(&self) -> BTreeSet<&Path> {
        self.sides
            .iter()
            .flat_map(|side| &side.recordings)
            .flat_map(|recording| recording.files().iter().map(PathBuf::as_path))
            .collect()
    }

    /// Returns the trials as (label, enrolment name, test name), the layout of a trial list.
    pub fn named_trials(&self) -> impl Iterator<Item = (bool, &str, &str)> {
        self.trials.iter().map(|trial| {
            (
                trial.target,
                self.sides[trial.enroll].name.as_str(),
                self.sides[trial.test].name.as_str(),
            )
        })
    }

    /// Adds a side unless one with the same name and recordings exists; returns its index.
    pub(super) fn intern_side(
        &mut self,
        index: &mut HashMap<(String, Vec<Recording>), usize>,
        side: Side,
    ) -> usize {
        let key = (side.name.clone(), side.recordings.clone());
        *index.entry(key).or_insert_with(|| {
            self.sides.push(side);
            self.sides.len() - 1
        })
    }
}

/// Location of a trial list's files and the way to read its sides.
#[derive(Debug, Clone)]
pub struct TrialListSource<'a> {
    pub audio_root: &'a Path,
    pub join: Join,
    pub enroll_map: Option<&'a EnrollMap>,
    /// A manifest of the audio root naming each file's speaker, needed to check that an
    /// AS-norm cohort is disjoint from the trial speakers.
    pub speakers: Option<&'a Manifest>,
}

impl TrialListSource<'_> {
    /// Resolves the entries of a trial list into a trial set.
    pub fn trial_set(
        &self,
        list_path: &Path,
        entries: &[TrialEntry],
    ) -> Result<TrialSet, EvalError> {
        let speakers_by_path = self.speakers.map(Manifest::speakers_by_path);
        let mut set = TrialSet::default();
        let mut index = HashMap::new();

        for entry in entries {
            let enroll_files = match self.enroll_map {
                Some(map) => map
                    .files(&entry.enroll)
                    .map(<[String]>::to_vec)
                    .ok_or_else(|| EvalError::UnknownEnrollment {
                        path: list_path.to_path_buf(),
                        line: entry.line,
                        id: entry.enroll.clone(),
                    })?,
                None => entry
                    .enroll
                    .split(trials::SIDE_SEPARATOR)
                    .map(str::to_string)
                    .collect(),
            };
            let test_files: Vec<String> = entry
                .test
                .split(trials::SIDE_SEPARATOR)
                .map(str::to_string)
                .collect();

            let enroll = self.side(&entry.enroll, enroll_files, speakers_by_path.as_ref())?;
            let test = self.side(&entry.test, test_files, speakers_by_path.as_ref())?;

            let enroll = set.intern_side(&mut index, enroll);
            let test = set.intern_side(&mut index, test);
            set.trials.push(Trial {
                target: entry.target,
                enroll,
                test,
            });
        }
        Ok(set)
    }

    fn side(
        &self,
        name: &str,
        files: Vec<String>,
        speakers_by_path: Option<&HashMap<&str, &str>>,
    ) -> Result<Side, EvalError> {
        let mut speakers = BTreeSet::new();
        if let Some(map) = speakers_by_path {
            for file in &files {
                let speaker = map
                    .get(file.as_str())
                    .ok_or_else(|| EvalError::UnknownSpeaker {
                        file: file.clone(),
                        manifest: self
                            .speakers
                            .map(|m| m.path().to_path_buf())
                            .unwrap_or_default(),
                    })?;
                speakers.insert(speaker.to_string());
            }
        }
        Ok(Side {
            name: name.to_string(),
            recordings: self.recordings(&files),
            speakers,
        })
    }

    fn recordings(&self, files: &[String]) -> Vec<Recording> {
        let paths: Vec<PathBuf> = files
            .iter()
            .map(|file| self.audio_root.join(file))
            .collect();
        match self.join {
            Join::Mean => paths.into_iter().map(Recording::File).collect(),
            Join::Concatenate => vec![Recording::concatenation(paths)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::trials::parse_trial_list;

    fn entries(text: &str) -> Vec<TrialEntry> {
        parse_trial_list(text, Path::new("trials.txt")).unwrap()
    }

    fn source(join: Join) -> TrialListSource<'static> {
        TrialListSource {
            audio_root: Path::new("/audio"),
            join,
            enroll_map: None,
            speakers: None,
        }
    }

    #[test]
    fn repeated_sides_are_stored_once() {
        let set = source(Join::Mean)
            .trial_set(Path::new("t"), &entries("1 a.wav b.wav\n0 a.wav c.wav\n"))
            .unwrap();
        assert_eq!(set.sides.len(), 3);
        assert_eq!(set.trials[0].enroll, set.trials[1].enroll);
        assert_eq!(set.recordings().len(), 3);
    }

    #[test]
    fn mean_join_keeps_files_apart() {
        let set = source(Join::Mean)
            .trial_set(Path::new("t"), &entries("1 a.wav+b.wav c.wav\n"))
            .unwrap();
        assert_eq!(
            set.sides[0].recordings,
            vec![
                Recording::File("/audio/a.wav".into()),
                Recording::File("/audio/b.wav".into())
            ]
        );
    }

    #[test]
    fn concatenate_join_makes_one_recording() {
        let set = source(Join::Concatenate)
            .trial_set(Path::new("t"), &entries("1 a.wav+b.wav c.wav\n"))
            .unwrap();
        assert_eq!(
            set.sides[0].recordings,
            vec![Recording::Concatenation(vec![
                "/audio/a.wav".into(),
                "/audio/b.wav".into()
            ])]
        );
        assert_eq!(
            set.sides[1].recordings,
            vec![Recording::File("/audio/c.wav".into())]
        );
    }

    #[test]
    fn enrolment_ids_resolve_through_map() {
        let map = EnrollMap::parse("e1 x.wav y.wav\n", Path::new("enroll.map")).unwrap();
        let source = TrialListSource {
            enroll_map: Some(&map),
            ..source(Join::Mean)
        };

        let set = source
            .trial_set(Path::new("t"), &entries("e1 t.wav 1\n"))
            .unwrap();
        assert_eq!(set.sides[0].name, "e1");
        assert_eq!(set.sides[0].recordings.len(), 2);

        let error = source
            .trial_set(Path::new("t"), &entries("e2 t.wav 1\n"))
            .unwrap_err();
        assert!(matches!(error, EvalError::UnknownEnrollment { line: 1, id, .. } if id == "e2"));
    }

    #[test]
    fn speakers_come_from_manifest() {
        let manifest = Manifest::parse(
            "relative_path\tspeaker_id\na.wav\tA\nb.wav\tB\n",
            Path::new("MANIFEST.tsv"),
            Path::new("/audio"),
        )
        .unwrap();
        let source = TrialListSource {
            speakers: Some(&manifest),
            ..source(Join::Mean)
        };

        let set = source
            .trial_set(Path::new("t"), &entries("0 a.wav b.wav\n"))
            .unwrap();
        assert_eq!(
            set.speakers().into_iter().collect::<Vec<_>>(),
            vec!["A", "B"]
        );

        let error = source
            .trial_set(Path::new("t"), &entries("0 a.wav c.wav\n"))
            .unwrap_err();
        assert!(matches!(error, EvalError::UnknownSpeaker { file, .. } if file == "c.wav"));
    }
}
