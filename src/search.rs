//! What search sees of a text: the form `posts_fts` indexes, and the turning
//! of a reader's query into an FTS5 expression over it.
//!
//! Chinese is written without spaces, and no tokenizer that ships with SQLite
//! splits it into words: `unicode61` takes a whole run of Han characters as
//! one token, `trigram` cannot find a two-character word (央行, 降息) and
//! costs a token per character of every language. So the text is split here,
//! before SQLite sees it: every CJK character becomes a token of its own
//! (`央行降息` → `央 行 降 息`), everything else is left for `unicode61` to
//! split into words. A query gets the same treatment and becomes a phrase of
//! those characters, which matches exactly where they stand next to each
//! other (as Lucene's and Elasticsearch's standard analyzers treat CJK; like
//! them, a phrase also matches across punctuation: `中。国` for `中国`).
//! The index stays a stock FTS5 table with a stock tokenizer: the `sqlite3`
//! shell, Datasette and sqlite-utils query it without loading anything of
//! ours ([`SQL_MATCH`] is the query's form in plain SQL).
//!
//! Characters rather than overlapping bigrams (Lucene's CJKAnalyzer): the
//! same number of tokens, but a few thousand distinct ones instead of
//! hundreds of thousands, and FTS5's cost is in sorting and merging distinct
//! terms. On the benchmark's corpus (49,814 posts of 1–5 KB HTML) indexing
//! took 4.8 s with characters, 11.4 s with bigrams, 19.8 s with the trigram
//! tokenizer newscrawl used before; queries stay under 15 ms there.
//! Hand-written rather than a segmenter crate (jieba-rs and the like): a
//! dictionary segmenter costs a dictionary in memory and gives a query
//! different words than the text whenever their contexts differ, so a word
//! the reader typed could go unfound; characters find every substring.

/// Whether `c` is written without spaces between words: Han ideographs
/// (unified, extension A and beyond, compatibility), kana and the CJK
/// symbols that stand between them (々〆).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3005..=0x3007 // 々〆〇
        | 0x3040..=0x30FF // hiragana, katakana
        | 0x31F0..=0x31FF // katakana phonetic extensions
        | 0x3400..=0x4DBF // extension A
        | 0x4E00..=0x9FFF // unified ideographs
        | 0xF900..=0xFAFF // compatibility ideographs
        | 0x20000..=0x3FFFF) // extensions B and later
}

/// Full-width ASCII (`Ａ股`, `２０２４`) as the half-width a reader types.
fn fold(c: char) -> char {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

/// The form of `text` that `posts_fts` indexes: every CJK character
/// between spaces, the rest as it is, full-width ASCII folded. Linear in the
/// input; a third longer for Chinese.
pub fn index_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    // Whether the last character written was white space (or none was),
    // and whether it was a CJK character.
    let (mut spaced, mut after_cjk) = (true, false);
    for c in text.chars().map(fold) {
        let cjk = is_cjk(c);
        if (cjk && !spaced) || (after_cjk && !c.is_whitespace()) {
            out.push(' ');
        }
        out.push(c);
        spaced = c.is_whitespace();
        after_cjk = cjk;
    }
    out
}

/// A reader's query: words separated by spaces must all appear (`央行 降息`),
/// a `"quoted phrase"` must appear as written, `OR` between two terms means
/// either, a term ending in `*` is a prefix. Chinese matches where the
/// characters stand together, whatever their number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Every group must match; a group matches when one of its terms does.
    pub groups: Vec<Vec<Term>>,
}

/// One word or phrase of a [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// As the reader wrote it, full-width ASCII folded.
    pub text: String,
    /// The last word may continue (`rat*`).
    pub prefix: bool,
}

impl Query {
    /// `None` when nothing searchable is left.
    pub fn parse(query: &str) -> Option<Query> {
        let mut groups: Vec<Vec<Term>> = Vec::new();
        let mut or = false;
        let mut rest = query.trim();
        while !rest.is_empty() {
            let (raw, phrase, next) = if let Some(q) = rest.strip_prefix('"') {
                match q.find('"') {
                    Some(end) => (&q[..end], true, &q[end + 1..]),
                    None => (q, true, ""),
                }
            } else {
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(rest.len());
                (&rest[..end], false, &rest[end..])
            };
            rest = next.trim_start();
            if !phrase && raw == "OR" {
                or = !groups.is_empty();
                continue;
            }
            let prefix = !phrase && raw.ends_with('*');
            let raw = if prefix {
                raw.trim_end_matches('*')
            } else {
                raw
            };
            let text: String = raw.chars().map(fold).collect::<String>().trim().to_string();
            if !text.chars().any(char::is_alphanumeric) {
                continue;
            }
            let term = Term { text, prefix };
            match groups.last_mut() {
                Some(group) if std::mem::take(&mut or) => group.push(term),
                _ => groups.push(vec![term]),
            }
        }
        (!groups.is_empty()).then_some(Query { groups })
    }

    /// The FTS5 expression over [`index_text`]. Every term is quoted, so
    /// punctuation (`COVID-19`, `A股`) is never FTS5 syntax.
    pub fn fts(&self) -> String {
        let term = |t: &Term| {
            let quoted = format!("\"{}\"", index_text(&t.text).trim().replace('"', "\"\""));
            if t.prefix {
                format!("{quoted} *")
            } else {
                quoted
            }
        };
        let group = |g: &Vec<Term>| match g.as_slice() {
            [one] => term(one),
            many => format!(
                "({})",
                many.iter().map(term).collect::<Vec<_>>().join(" OR ")
            ),
        };
        self.groups.iter().map(group).collect::<Vec<_>>().join(" ")
    }
}

/// [`Query::parse`] then [`Query::fts`].
pub fn match_query(query: &str) -> Option<String> {
    Query::parse(query).map(|q| q.fts())
}

/// The query's FTS5 expression in plain SQL, for readers who have only
/// SQLite (the `sqlite3` shell, Datasette, sqlite-utils): the same characters
/// as [`match_query`], every space-separated word of `:q` required. Used as
/// `… WHERE posts_fts MATCH (<this>)`; the README shows it whole and a test
/// runs the README's copy.
pub const SQL_MATCH: &str = include_str!("search_match.sql");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_characters_become_tokens_and_the_rest_stays() {
        assert_eq!(index_text("央行降息"), "央 行 降 息");
        assert_eq!(index_text("A股市场"), "A 股 市 场");
        assert_eq!(index_text("２０２４年GDP增长5%"), "2024 年 GDP 增 长 5%");
        assert_eq!(index_text("央行，降息。"), "央 行 , 降 息 。");
        assert_eq!(index_text("茅 台\n"), "茅 台\n");
        assert_eq!(index_text("Fed cuts rates"), "Fed cuts rates");
        assert_eq!(index_text("恒指 fell 2%"), "恒 指 fell 2%");
        assert_eq!(index_text(""), "");
    }

    #[test]
    fn queries_are_quoted_phrases_of_characters() {
        assert_eq!(match_query("央行").as_deref(), Some("\"央 行\""));
        assert_eq!(match_query("央行降息").as_deref(), Some("\"央 行 降 息\""));
        assert_eq!(
            match_query("央行 降息").as_deref(),
            Some("\"央 行\" \"降 息\"")
        );
        assert_eq!(
            match_query("\"interest rate\" COVID-19").as_deref(),
            Some("\"interest rate\" \"COVID-19\"")
        );
        assert_eq!(match_query("茅").as_deref(), Some("\"茅\""));
        assert_eq!(match_query("rat*").as_deref(), Some("\"rat\" *"));
        assert_eq!(
            match_query("OR 茅台 OR 五粮液 OR").as_deref(),
            Some("(\"茅 台\" OR \"五 粮 液\")")
        );
        assert_eq!(
            match_query("央行 降息 OR 加息").as_deref(),
            Some("\"央 行\" (\"降 息\" OR \"加 息\")")
        );
        assert_eq!(match_query(" \"\" ，。 * ").as_deref(), None);
        assert_eq!(match_query("say \"hi").as_deref(), Some("\"say\" \"hi\""));
    }
}
