//! IAM's wildcard match: `*` any run of characters, `?` exactly one,
//! everything else itself.
//!
//! The pattern is cut at its `*`s into segments. The first must match the
//! text's start and the last its end; each one between is found at its
//! leftmost place after the previous one (taking the leftmost never loses
//! a match, so nothing is retried). A segment is found with the
//! bit-parallel Shift-And search, which reads each character of the text
//! once and keeps which prefixes of the segment end there as bits: time
//! text × ⌈segment / 64⌉ and memory 128 × ⌈segment / 64⌉ words, with no
//! backtracking, where retrying a segment from each position of the text
//! took text × segment (a 2,000-character segment against 100,000
//! characters took 17 s).

use std::collections::HashMap;

/// One character of a segment: `None` for `?`.
type Symbol = Option<char>;

/// Does `text` match `pattern`, case ignored or not?
pub fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    match (pattern.contains('?'), ignore_case) {
        (false, false) => without_single(pattern, text),
        (false, true) => without_single(&pattern.to_lowercase(), &text.to_lowercase()),
        (true, false) => with_single(pattern, text, |c| c),
        (true, true) => with_single(pattern, text, |c| c.to_lowercase().next().unwrap_or(c)),
    }
}

/// [`matches`] for a pattern with `?`: each character is first mapped by
/// `fold` (the identity, or lower case), so that `?` stays one character.
fn with_single(pattern: &str, text: &str, fold: fn(char) -> char) -> bool {
    let text: Vec<char> = text.chars().map(fold).collect();
    let segments: Vec<Vec<Symbol>> = pattern
        .split('*')
        .map(|s| s.chars().map(|c| (c != '?').then(|| fold(c))).collect())
        .collect();
    let (first, last) = (&segments[0], &segments[segments.len() - 1]);
    if segments.len() == 1 {
        return text.len() == first.len() && at(first, &text, 0);
    }
    if text.len() < first.len() + last.len() || !at(first, &text, 0) {
        return false;
    }
    let end = text.len() - last.len();
    if !at(last, &text, end) {
        return false;
    }
    let mut from = first.len();
    for segment in &segments[1..segments.len() - 1] {
        match find(segment, &text[from..end]) {
            Some(start) => from += start + segment.len(),
            None => return false,
        }
    }
    true
}

/// [`matches`] for a pattern of literals and `*` only, on the text as it
/// is: the standard library's substring search (two-way: linear, no
/// allocation) finds each segment.
fn without_single(pattern: &str, text: &str) -> bool {
    let mut segments = pattern.split('*');
    let first = segments.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut middle: Vec<&str> = segments.collect();
    let Some(last) = middle.pop() else {
        return rest.is_empty();
    };
    let Some(body) = rest.strip_suffix(last) else {
        return false;
    };
    // The last segment is matched after the first, never overlapping it.
    rest = body;
    for segment in middle {
        match rest.find(segment) {
            Some(at) => rest = &rest[at + segment.len()..],
            None => return false,
        }
    }
    true
}

/// Does `segment` match `text` at `start`?
fn at(segment: &[Symbol], text: &[char], start: usize) -> bool {
    segment
        .iter()
        .zip(&text[start..])
        .all(|(s, c)| s.is_none_or(|s| s == *c))
        && text.len() - start >= segment.len()
}

/// Where `segment` first matches in `text` (Shift-And).
fn find(segment: &[Symbol], text: &[char]) -> Option<usize> {
    let m = segment.len();
    if m == 0 {
        return Some(0);
    }
    if m > text.len() {
        return None;
    }
    let words = m.div_ceil(64);
    let set = |mask: &mut [u64], j: usize| mask[j / 64] |= 1 << (j % 64);
    // Positions any character fits (`?`), and each ASCII character's;
    // other characters keep the positions they stand at.
    let mut wild = vec![0u64; words];
    let mut ascii = vec![0u64; 128 * words];
    let mut other: HashMap<char, Vec<usize>> = HashMap::new();
    for (j, symbol) in segment.iter().enumerate() {
        match symbol {
            None => set(&mut wild, j),
            Some(c) if c.is_ascii() => set(&mut ascii[*c as usize * words..][..words], j),
            Some(c) => other.entry(*c).or_default().push(j),
        }
    }
    let last = (m - 1) / 64;
    let last_bit = 1u64 << ((m - 1) % 64);
    let mut state = vec![0u64; words];
    let mut shifted = vec![0u64; words];
    for (i, c) in text.iter().enumerate() {
        // Every prefix that ended before this character, one longer; and
        // the empty prefix.
        let mut carry = 1u64;
        for (w, word) in state.iter().enumerate() {
            shifted[w] = (word << 1) | carry;
            carry = word >> 63;
        }
        for w in 0..words {
            let fits = wild[w]
                | if c.is_ascii() {
                    ascii[*c as usize * words + w]
                } else {
                    0
                };
            state[w] = shifted[w] & fits;
        }
        if !c.is_ascii() {
            for &j in other.get(c).into_iter().flatten() {
                state[j / 64] |= shifted[j / 64] & (1 << (j % 64));
            }
        }
        if state[last] & last_bit != 0 {
            return Some(i + 1 - m);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(pattern: &str, text: &str) -> bool {
        matches(pattern, text, false)
    }

    /// The same answers as trying every split, on small cases.
    #[test]
    fn agrees_with_the_definition() {
        fn slow(p: &[char], t: &[char]) -> bool {
            match p.split_first() {
                None => t.is_empty(),
                Some(('*', rest)) => (0..=t.len()).any(|i| slow(rest, &t[i..])),
                Some((c, rest)) => {
                    !t.is_empty() && (*c == '?' || *c == t[0]) && slow(rest, &t[1..])
                }
            }
        }
        let alphabet = ['a', 'b', 'é', '*', '?'];
        let mut patterns = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = patterns
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            patterns.extend(longer);
        }
        patterns.sort();
        patterns.dedup();
        let texts = [
            "", "a", "b", "ab", "ba", "aab", "abab", "éa", "aéb", "bbbb", "abaab",
        ];
        for p in &patterns {
            for t in texts {
                let (pc, tc): (Vec<char>, Vec<char>) = (p.chars().collect(), t.chars().collect());
                assert_eq!(like(p, t), slow(&pc, &tc), "{p:?} {t:?}");
            }
        }
    }

    #[test]
    fn segments_longer_than_a_word() {
        let segment = format!("{}b{}", "a".repeat(70), "?".repeat(70));
        let text = format!("x{}b{}y", "a".repeat(70), "c".repeat(70));
        assert!(like(&format!("*{segment}*"), &text));
        assert!(!like(&format!("*{segment}z*"), &text));
        let segment = format!("{}é", "é".repeat(100));
        assert!(like(&format!("*{segment}*"), &"é".repeat(300)));
        assert!(!like(&format!("*{segment}a*"), &"é".repeat(300)));
    }
}
