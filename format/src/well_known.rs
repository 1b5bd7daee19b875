//! The well-known tokens of the spec's registry (SPEC "Well-known
//! tokens"), and suggestions for tokens that look like a misspelling of
//! one.
//!
//! Any token that follows the grammar is valid: a device compares tokens
//! byte for byte, so a package for `x86_64` never reaches a device that
//! reports `x64`. Writers use this list to warn before that happens.

/// What a token names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenCategory {
    /// An OS family (`targets.os`).
    Os,
    /// A CPU architecture (`targets.architectures`).
    Architecture,
    /// An edition (`targets.editions`).
    Edition,
    /// A capability (`targets.capabilities`).
    Capability,
}

impl TokenCategory {
    /// The well-known tokens of this category, in the registry's order.
    pub fn well_known(self) -> &'static [&'static str] {
        match self {
            TokenCategory::Os => &["windows", "linux", "macos", "android"],
            TokenCategory::Architecture => &["x64", "arm64", "x86", "arm", "riscv64"],
            TokenCategory::Edition => &[
                "home",
                "pro",
                "enterprise",
                "education",
                "server",
                "windows365-enterprise",
            ],
            TokenCategory::Capability => &["vbs", "secure-boot", "hotpatch"],
        }
    }

    /// The category's name, e.g. `architecture`.
    pub fn name(self) -> &'static str {
        match self {
            TokenCategory::Os => "OS family",
            TokenCategory::Architecture => "architecture",
            TokenCategory::Edition => "edition",
            TokenCategory::Capability => "capability",
        }
    }

    /// Whether `token` is well known in this category.
    pub fn is_well_known(self, token: &str) -> bool {
        self.well_known().contains(&token)
    }

    /// The well-known token `token` most likely stands for, if any: the
    /// registry's name for a common other spelling (`x86_64` and `amd64`
    /// for `x64`, `aarch64` for `arm64`, `i686` for `x86`, `darwin` for
    /// `macos`…), else the one well-known token within two edits (letters
    /// inserted, removed, replaced or swapped), if exactly one is closest.
    /// `None` for a well-known token.
    pub fn suggest(self, token: &str) -> Option<&'static str> {
        if self.is_well_known(token) {
            return None;
        }
        if let Some((_, _, known)) = ALIASES
            .iter()
            .find(|(category, alias, _)| *category == self && *alias == token)
        {
            return Some(known);
        }
        let mut best: Option<(usize, &'static str)> = None;
        let mut tie = false;
        for known in self.well_known() {
            let d = edit_distance(token, known);
            if d > 2 {
                continue;
            }
            match best {
                Some((b, _)) if d > b => {}
                Some((b, _)) if d == b => tie = true,
                _ => {
                    best = Some((d, known));
                    tie = false;
                }
            }
        }
        best.filter(|_| !tie).map(|(_, known)| known)
    }
}

/// Other spellings of well-known tokens, as other systems name them.
const ALIASES: &[(TokenCategory, &str, &str)] = &[
    (TokenCategory::Architecture, "x86_64", "x64"),
    (TokenCategory::Architecture, "x86-64", "x64"),
    (TokenCategory::Architecture, "amd64", "x64"),
    (TokenCategory::Architecture, "aarch64", "arm64"),
    (TokenCategory::Architecture, "armv8", "arm64"),
    (TokenCategory::Architecture, "i386", "x86"),
    (TokenCategory::Architecture, "i486", "x86"),
    (TokenCategory::Architecture, "i586", "x86"),
    (TokenCategory::Architecture, "i686", "x86"),
    (TokenCategory::Architecture, "ia32", "x86"),
    (TokenCategory::Architecture, "armhf", "arm"),
    (TokenCategory::Architecture, "armel", "arm"),
    (TokenCategory::Architecture, "armv7", "arm"),
    (TokenCategory::Architecture, "riscv", "riscv64"),
    (TokenCategory::Os, "win", "windows"),
    (TokenCategory::Os, "win32", "windows"),
    (TokenCategory::Os, "win64", "windows"),
    (TokenCategory::Os, "darwin", "macos"),
    (TokenCategory::Os, "osx", "macos"),
    (TokenCategory::Os, "mac", "macos"),
    (TokenCategory::Os, "gnu-linux", "linux"),
    (TokenCategory::Edition, "professional", "pro"),
    (TokenCategory::Edition, "ent", "enterprise"),
    (TokenCategory::Edition, "edu", "education"),
    (TokenCategory::Capability, "secureboot", "secure-boot"),
    (TokenCategory::Capability, "secure_boot", "secure-boot"),
];

/// Optimal string alignment distance: insertions, deletions,
/// substitutions and swaps of two neighbours each cost 1. Computed row by
/// row (tokens are at most 64 bytes), without indexing that could panic.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let cell = |row: &[usize], j: usize| row.get(j).copied().unwrap_or(usize::MAX);
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut row = Vec::with_capacity(previous.len());
        row.push(i.saturating_add(1));
        for (j, &cb) in b.iter().enumerate() {
            let replace = cell(&previous, j).saturating_add(usize::from(ca != cb));
            let delete = cell(&previous, j.saturating_add(1)).saturating_add(1);
            let insert = row.last().copied().unwrap_or(usize::MAX).saturating_add(1);
            let mut best = replace.min(delete).min(insert);
            if let (Some(pi), Some(pj)) = (i.checked_sub(1), j.checked_sub(1))
                && a.get(pi) == Some(&cb)
                && b.get(pj) == Some(&ca)
            {
                best = best.min(cell(&before, pj).saturating_add(1));
            }
            row.push(best);
        }
        before = std::mem::replace(&mut previous, row);
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_spellings_and_typos_suggest_the_registry_name() {
        let arch = TokenCategory::Architecture;
        assert_eq!(arch.suggest("x86_64"), Some("x64"));
        assert_eq!(arch.suggest("amd64"), Some("x64"));
        assert_eq!(arch.suggest("aarch64"), Some("arm64"));
        assert_eq!(arch.suggest("i686"), Some("x86"));
        assert_eq!(arch.suggest("amr64"), Some("arm64"));
        assert_eq!(TokenCategory::Os.suggest("windwos"), Some("windows"));
        assert_eq!(TokenCategory::Os.suggest("darwin"), Some("macos"));
        assert_eq!(
            TokenCategory::Edition.suggest("enterprize"),
            Some("enterprise")
        );
        assert_eq!(
            TokenCategory::Capability.suggest("secureboot"),
            Some("secure-boot")
        );
    }

    #[test]
    fn well_known_and_unrelated_tokens_get_no_suggestion() {
        assert_eq!(TokenCategory::Architecture.suggest("x64"), None);
        assert!(TokenCategory::Architecture.is_well_known("riscv64"));
        assert_eq!(TokenCategory::Architecture.suggest("mips64"), None);
        assert_eq!(TokenCategory::Os.suggest("freebsd"), None);
        // Aliases belong to their category only.
        assert_eq!(TokenCategory::Os.suggest("x86_64"), None);
    }

    #[test]
    fn a_tie_between_two_tokens_suggests_neither() {
        // "x6" is one edit from "x64" and one from "x86".
        assert_eq!(TokenCategory::Architecture.suggest("x6"), None);
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("windwos", "windows"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
