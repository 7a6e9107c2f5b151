//! Levels and policy versions, parsed and printed as upstream does.

use std::fmt;
use std::str::FromStr;

/// The newest policy version with a behaviour change; `latest` means it, and
/// any newer version is evaluated as it.
pub const LATEST_MINOR: u32 = 37;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    /// The next stricter level, if any.
    pub fn stricter(self) -> Option<Level> {
        match self {
            Level::Privileged => Some(Level::Baseline),
            Level::Baseline => Some(Level::Restricted),
            Level::Restricted => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Level, VersionError> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(VersionError(format!(
                "invalid level {s:?}: must be privileged, baseline or restricted"
            ))),
        }
    }
}

/// `latest` or `v1.N` (N without leading zeros), as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    Latest,
    Minor(u32),
}

impl Version {
    /// The policy version evaluated: `latest` and anything newer than the
    /// newest known version are the newest known version.
    pub fn minor(&self) -> u32 {
        match self {
            Version::Latest => LATEST_MINOR,
            Version::Minor(m) => (*m).min(LATEST_MINOR),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionError(pub String);

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VersionError {}

impl FromStr for Version {
    type Err = VersionError;
    /// Upstream's `api.ParseVersion`: `latest`, or `^v1\.(0|[1-9][0-9]*)$`.
    fn from_str(s: &str) -> Result<Version, VersionError> {
        if s == "latest" {
            return Ok(Version::Latest);
        }
        let invalid = || {
            VersionError(format!(
                "invalid version {s:?}: must be \"latest\" or \"v1.N\" (e.g. v1.{LATEST_MINOR})"
            ))
        };
        let digits = s.strip_prefix("v1.").ok_or_else(invalid)?;
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return Err(invalid());
        }
        digits.parse().map(Version::Minor).map_err(|_| invalid())
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::Minor(m) => write!(f, "v1.{m}"),
        }
    }
}

/// A level at a version, printed `restricted:latest`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_upstream() {
        assert_eq!("latest".parse(), Ok(Version::Latest));
        assert_eq!("v1.0".parse(), Ok(Version::Minor(0)));
        assert_eq!("v1.25".parse(), Ok(Version::Minor(25)));
        for bad in ["v1.05", "v2.0", "1.25", "v1.", "v1.x", "", "Latest"] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
        assert_eq!(Version::Minor(10000).minor(), LATEST_MINOR);
        assert_eq!(Version::Minor(10000).to_string(), "v1.10000");
    }
}
