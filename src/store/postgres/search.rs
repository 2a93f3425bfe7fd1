//! Search on PostgreSQL: `posts.search`, a `tsvector` PostgreSQL keeps
//! with each row (so a search is never stale and there is nothing to
//! index later), of the text as [`crate::search::index_text`] splits it:
//! every CJK character a word, so a Chinese query of any length is a
//! phrase of its characters. Built-in text search with the `simple`
//! configuration: no extension to install. The query's SQL form, for
//! `psql` and other tools: `WHERE search @@ phraseto_tsquery('simple',
//! newscrawl_search_text('央行降息'))`.

use chrono::{DateTime, Utc};
use postgres::Client;
use postgres::types::ToSql;

use super::*;
use crate::search::Query;

/// One term as a `tsquery` expression over the parameters it adds.
fn term_query(term: &crate::search::Term, args: &mut Vec<Box<dyn ToSql + Sync>>) -> String {
    let mut add = |v: String| {
        args.push(Box::new(v));
        args.len()
    };
    if term.prefix {
        // The last word may continue: a phrase of the rest, then it as a
        // prefix (letters and digits only, so nothing is tsquery syntax).
        let text = term.text.trim();
        let (rest, last) = match text.rfind(char::is_whitespace) {
            Some(i) => (&text[..i], &text[i..]),
            None => ("", text),
        };
        let last: String = last
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        if !last.is_empty() {
            let l = add(last);
            let prefix = format!("to_tsquery('simple', ${l} || ':*')");
            if rest.trim().is_empty() {
                return prefix;
            }
            let r = add(rest.to_string());
            return format!(
                "tsquery_phrase(phraseto_tsquery('simple', newscrawl_search_text(${r})), {prefix})"
            );
        }
    }
    let n = add(term.text.clone());
    format!("phraseto_tsquery('simple', newscrawl_search_text(${n}))")
}

pub(crate) fn search(
    client: &mut Client,
    query: &Query,
    filter: &PostFilter,
    limit: usize,
) -> Result<Vec<SearchHit>, StoreError> {
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let groups: Vec<String> = query
        .groups
        .iter()
        .map(|group| {
            let any: Vec<String> = group
                .iter()
                .map(|t| format!("p.search @@ {}", term_query(t, &mut args)))
                .collect();
            format!("({})", any.join(" OR "))
        })
        .collect();
    let mut sql = format!(
        "SELECT p.id, p.source, p.published_at, p.published_offset, p.fetched_at, p.title,
                COALESCE(p.url, p.canonical_url) AS url, p.story_id,
                COALESCE(p.published_at, p.fetched_at) AS w
         FROM posts p WHERE {}",
        groups.join(" AND ")
    );
    if !filter.sources.is_empty() {
        args.push(Box::new(filter.sources.clone()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM post_sources ps WHERE ps.post_id = p.id AND ps.source = ANY(${}))",
            args.len()
        ));
    }
    if let Some(since) = filter.since {
        args.push(Box::new(since.with_timezone(&Utc)));
        sql.push_str(&format!(
            " AND COALESCE(p.published_at, p.fetched_at) >= ${}",
            args.len()
        ));
    }
    let sql = if filter.one_per_story {
        // The newest matching post of each story.
        format!(
            "SELECT * FROM (SELECT DISTINCT ON (COALESCE(story_id, -id)) * FROM ({sql}) m
                            ORDER BY COALESCE(story_id, -id), w DESC, id DESC) n
             ORDER BY w DESC, id DESC LIMIT {limit}"
        )
    } else {
        sql + &format!(" ORDER BY w DESC, p.id DESC LIMIT {limit}")
    };
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
    Ok(client
        .query(sql.as_str(), &params)?
        .iter()
        .map(|r| SearchHit {
            id: r.get(0),
            source: r.get(1),
            published_at: local_text(r.get(2), r.get(3)),
            fetched_at: utc_text(&r.get::<_, DateTime<Utc>>(4)),
            title: r.get(5),
            url: r.get(6),
            story_id: r.get(7),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testing::scratch_database;
    use crate::config::Database;

    /// The form newscrawl splits new posts' text into is the form the
    /// schema's function gives updated posts and queries: the same words
    /// at the same places, in every script the split treats.
    #[test]
    fn newscrawls_split_and_the_schemas_give_the_same_words() {
        let Some(db) = scratch_database() else { return };
        let Database::Postgres(target) = &db.database else {
            unreachable!()
        };
        // The schema first.
        drop(crate::store::Store::open(&db.database).unwrap());
        let mut client = postgres::Client::connect(target.url(), postgres::NoTls).unwrap();
        let texts = [
            "央行宣布降准0.5个百分点，释放长期资金约1万亿元",
            "Ａ股收评：沪指涨１．２％　创业板指跌",
            "日経平均株価は続伸、トヨタ自動車が高い",
            "𠀀𠀁 extension B 々〆〇 and Latin words, COVID-19 e-mail",
            "港股\u{3000}恒指 2.1% Interest-rate cut’s \"quoted\"",
            "",
        ];
        for text in texts {
            let same: bool = client
                .query_one(
                    "SELECT to_tsvector('simple', $1) = to_tsvector('simple', newscrawl_search_text($2))",
                    &[&crate::search::index_text(text), &text],
                )
                .unwrap()
                .get(0);
            assert!(same, "{text}");
        }
    }
}
