//! Article pages: which are due, and saving a batch of attempts.

use rusqlite::{Connection, params};

use super::*;

/// Posts whose article `source` fetches and is due (`now` is UTC RFC 3339), oldest first.
pub(crate) fn due_articles(
    conn: &Connection,
    source: &str,
    now: &str,
    limit: usize,
) -> Result<Vec<ArticleJob>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, url, info_code, article_attempts, guid, title FROM posts
         WHERE article_via = ?1 AND article_state = 'pending' AND (article_next_at IS NULL OR article_next_at <= ?2)
         ORDER BY id LIMIT ?3",
    )?;
    let jobs = stmt
        .query_map(params![source, now, limit as i64], |r| {
            Ok(ArticleJob {
                post_id: r.get(0)?,
                url: r.get(1)?,
                info_code: r.get(2)?,
                attempts: r.get(3)?,
                guid: r.get(4)?,
                title: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(jobs)
}

/// Saves a batch of article attempts in one transaction. A fetched article
/// fills the post: its body replaces the feed's, while the feed's (or the
/// list's) title, date and origin stay when it had them.
pub(crate) fn save_articles(
    conn: &mut Connection,
    stories: &mut Stories,
    source: &str,
    results: &[ArticleResult],
) -> Result<(), StoreError> {
    let now = crate::date::now_utc();
    let tx = super::begin_write(conn)?;
    stories.begin();
    let mut st = Stmts::new(&tx);
    ensure_source(&mut st, source, &now)?;
    for r in results {
        let f = &r.fetch;
        st.get(
            "INSERT INTO fetches (source, url, started_at, duration_ms, http_status, outcome, bytes, items, new_posts, error, kind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, 'article')",
        )?
        .execute(params![
            source,
            f.url,
            utc_text(&f.started_at),
            f.duration_ms,
            f.http_status,
            f.outcome.as_str(),
            f.bytes as i64,
            i64::from(matches!(r.outcome, ArticleOutcome::Done(_))),
            f.error
        ])?;
        match &r.outcome {
            ArticleOutcome::Done(a) => {
                st.get(
                    "UPDATE posts SET title = COALESCE(title, ?2), published_at = COALESCE(published_at, ?3),
                        content_html = COALESCE(?4, content_html), content_text = COALESCE(?5, content_text),
                        origin = COALESCE(origin, ?6), fetched_at = ?7, article_state = 'done',
                        article_attempts = article_attempts + 1, article_next_at = NULL
                     WHERE id = ?1",
                )?
                .execute(params![
                    r.post_id,
                    a.title,
                    a.published_at.as_ref().map(local_text),
                    a.content_html,
                    a.content_text,
                    a.origin,
                    now
                ])?;
                if let Some(fp) = &a.fingerprint {
                    stories.refile(&mut SqliteRows(&mut st), r.post_id, fp, &now)?;
                }
            }
            ArticleOutcome::Retry { next_at } => {
                st.get(
                    "UPDATE posts SET article_attempts = article_attempts + 1, article_next_at = ?2 WHERE id = ?1",
                )?
                .execute(params![r.post_id, utc_text(next_at)])?;
            }
            ArticleOutcome::GiveUp => {
                st.get(
                    "UPDATE posts SET article_attempts = article_attempts + 1, article_next_at = NULL,
                        article_state = 'failed' WHERE id = ?1",
                )?
                .execute(params![r.post_id])?;
                stories.file_stored(&mut SqliteRows(&mut st), r.post_id)?;
            }
        }
        if !matches!(r.outcome, ArticleOutcome::Done(_)) {
            // The feed's text is all it has for now: searchable at once.
            st.get("UPDATE fts_pending SET ready_at = '' WHERE post_id = ?1")?
                .execute(params![r.post_id])?;
        }
    }
    drop(st);
    tx.commit()?;
    Ok(())
}
