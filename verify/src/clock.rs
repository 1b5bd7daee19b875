//! What a verifier knows about the current time, and the one judgement of
//! a validity period (`created`, `expires`) that trust roots, catalogs
//! and packages share.

/// What the verifier knows about the current time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The system clock, trusted, read afresh at each judgement: what an
    /// online agent that keeps a verifier for days wants.
    System,
    /// A trusted current time (seconds since the Unix epoch): expiry and
    /// not-yet-valid are both judged against it.
    Trusted(u64),
    /// Only a lower bound on the time, such as the newest timestamp ever
    /// seen: something is expired when it expired at or before the bound;
    /// "not yet valid" cannot be judged.
    LowerBound(u64),
}

impl Clock {
    /// The instant expiry is judged against (for [`Clock::System`], the
    /// system time now).
    pub fn at_least(self) -> u64 {
        match self.now() {
            Clock::Trusted(t) | Clock::LowerBound(t) => t,
            Clock::System => 0,
        }
    }

    /// This clock at this instant: [`Clock::System`] read into
    /// [`Clock::Trusted`], the others as they are. A judgement reads the
    /// time once.
    pub fn now(self) -> Clock {
        match self {
            Clock::System => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                Clock::Trusted(now)
            }
            fixed => fixed,
        }
    }

    /// Whether something expiring at `expires` has expired.
    pub(crate) fn is_expired(self, expires: u64) -> bool {
        expires <= self.at_least()
    }

    /// Whether something created at `created` is from the future. Only a
    /// trusted clock can tell.
    pub(crate) fn is_not_yet_valid(self, created: u64) -> bool {
        match self.now() {
            Clock::Trusted(now) => created > now,
            Clock::LowerBound(_) | Clock::System => false,
        }
    }

    /// The system clock ([`Clock::System`]), for online agents.
    pub fn system() -> Clock {
        Clock::System
    }
}

/// Why a validity period does not hold at a [`Clock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeFault {
    /// Expired at or before the time (or its lower bound).
    Expired {
        /// The expiry.
        expires: u64,
        /// The time judged at.
        at: u64,
    },
    /// Created after the trusted current time.
    NotYetValid {
        /// The creation time.
        created: u64,
        /// The trusted current time.
        now: u64,
    },
}

impl Clock {
    /// Judges a validity period: expired first, then not yet valid. (Both
    /// cannot hold at once: every structure requires `expires > created`.)
    pub(crate) fn judge(self, created: u64, expires: Option<u64>) -> Result<(), TimeFault> {
        let clock = self.now();
        clock.judge_fixed(created, expires)
    }

    fn judge_fixed(self, created: u64, expires: Option<u64>) -> Result<(), TimeFault> {
        if let Some(expires) = expires
            && self.is_expired(expires)
        {
            return Err(TimeFault::Expired {
                expires,
                at: self.at_least(),
            });
        }
        if self.is_not_yet_valid(created) {
            return Err(TimeFault::NotYetValid {
                created,
                now: self.at_least(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    fn system_seconds() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    #[test]
    fn the_system_clock_is_read_at_each_judgement() {
        let before = system_seconds();
        let Clock::Trusted(now) = Clock::System.now() else {
            panic!("the system clock is a trusted one");
        };
        assert!(now >= before && now <= system_seconds());
        // Expired a second ago: expired now, whenever "now" is.
        assert!(matches!(
            Clock::System.judge(0, Some(system_seconds() - 1)),
            Err(TimeFault::Expired { .. })
        ));
        assert!(
            Clock::System
                .judge(0, Some(system_seconds() + 3600))
                .is_ok()
        );
        assert!(matches!(
            Clock::System.judge(system_seconds() + 3600, None),
            Err(TimeFault::NotYetValid { .. })
        ));
    }

    #[test]
    fn a_lower_bound_judges_expiry_only() {
        let clock = Clock::LowerBound(100);
        assert!(matches!(
            clock.judge(0, Some(100)),
            Err(TimeFault::Expired {
                expires: 100,
                at: 100
            })
        ));
        assert!(clock.judge(1_000, Some(2_000)).is_ok());
        assert_eq!(clock.now(), clock);
    }
}
