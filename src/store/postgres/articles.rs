//! Article pages on PostgreSQL: which are due, and saving a batch of
//! attempts (as the SQLite backend's `articles`).

use chrono::{DateTime, Utc};
use postgres::Client;

use super::*;

pub(crate) fn due_articles(
    client: &mut Client,
    source: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<ArticleJob>, StoreError> {
    let rows = client.rows(
        "SELECT id, url, info_code, article_attempts, guid, title FROM posts
         WHERE article_via = $1 AND article_state = 'pending'
           AND (article_next_at IS NULL OR article_next_at <= $2)
         ORDER BY id LIMIT $3",
        &[&source, &now, &(limit as i64)],
    )?;
    Ok(rows
        .iter()
        .map(|r| ArticleJob {
            post_id: r.get(0),
            url: r.get(1),
            info_code: r.get(2),
            attempts: u32::try_from(r.get::<_, i64>(3)).unwrap_or(u32::MAX),
            guid: r.get(4),
            title: r.get(5),
        })
        .collect())
}

pub(crate) fn save_articles(
    client: &mut Client,
    stories: &mut Stories,
    source: &str,
    results: &[ArticleResult],
) -> Result<(), StoreError> {
    let now = now_second();
    let now_text = utc_text(&now);
    let mut tx = write_transaction(client)?;
    stories.begin();
    ensure_source(&mut tx, source)?;
    for r in results {
        let done = matches!(r.outcome, ArticleOutcome::Done(_));
        insert_fetch(&mut tx, source, &r.fetch, "article", i64::from(done), 0, 0)?;
        match &r.outcome {
            ArticleOutcome::Done(a) => {
                let (published, offset) = split_local(a.published_at.as_ref());
                tx.run(
                    "UPDATE posts SET title = COALESCE(title, $2),
                        published_offset = CASE WHEN published_at IS NULL THEN $3 ELSE published_offset END,
                        published_at = COALESCE(published_at, $4),
                        content_html = COALESCE($5, content_html), content_text = COALESCE($6, content_text),
                        origin = COALESCE(origin, $7), fetched_at = $8, article_state = 'done',
                        article_attempts = article_attempts + 1, article_next_at = NULL
                     WHERE id = $1",
                    &[
                        &r.post_id,
                        &nul_free(a.title.as_deref()),
                        &offset,
                        &published,
                        &nul_free(a.content_html.as_deref()),
                        &nul_free(a.content_text.as_deref()),
                        &nul_free(a.origin.as_deref()),
                        &now,
                    ],
                )?;
                if let Some(fp) = &a.fingerprint {
                    stories.refile(&mut PgRows::direct(&mut tx), r.post_id, fp, &now_text)?;
                }
            }
            ArticleOutcome::Retry { next_at } => {
                tx.run(
                    "UPDATE posts SET article_attempts = article_attempts + 1, article_next_at = $2
                     WHERE id = $1",
                    &[&r.post_id, next_at],
                )?;
            }
            ArticleOutcome::GiveUp => {
                tx.run(
                    "UPDATE posts SET article_attempts = article_attempts + 1, article_next_at = NULL,
                        article_state = 'failed' WHERE id = $1",
                    &[&r.post_id],
                )?;
                stories.file_stored(&mut PgRows::direct(&mut tx), r.post_id)?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}
