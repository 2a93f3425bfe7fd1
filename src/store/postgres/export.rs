//! Reading posts out on PostgreSQL: the filtered stream of rows, the change
//! feed and the continuous export's cursors (as the SQLite backend's
//! `export`).

use chrono::{DateTime, Utc};
use postgres::Client;
use postgres::types::ToSql;

use super::*;

pub(crate) fn last_change(client: &mut Client) -> Result<i64, StoreError> {
    Ok(client
        .row(
            "SELECT COALESCE(MAX(seq), 0)::bigint FROM post_changes",
            &[],
        )?
        .get(0))
}

pub(crate) fn changes_after(
    client: &mut Client,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(client
        .rows(
            "SELECT seq, post_id FROM post_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &(limit as i64)],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// The highest post id given out (the sequence: ids only grow, a deleted
/// post's or a rolled-back one's included).
pub(crate) fn max_post_id(client: &mut Client) -> Result<i64, StoreError> {
    Ok(client
        .row(
            "SELECT GREATEST(COALESCE((SELECT MAX(id) FROM posts), 0),
                    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM posts_id_seq))",
            &[],
        )?
        .get(0))
}

pub(crate) fn find_export_cursor(
    client: &mut Client,
    name: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(client
        .row_opt("SELECT seq FROM export_cursors WHERE name = $1", &[&name])?
        .map(|r| r.get(0)))
}

pub(crate) fn export_cursor(client: &mut Client, name: &str) -> Result<i64, StoreError> {
    Ok(find_export_cursor(client, name)?.unwrap_or(0))
}

pub(crate) fn set_export_cursor(
    client: &mut Client,
    name: &str,
    seq: i64,
) -> Result<(), StoreError> {
    client.run(
        "INSERT INTO export_cursors (name, seq, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (name) DO UPDATE SET seq = GREATEST(export_cursors.seq, excluded.seq),
            updated_at = excluded.updated_at",
        &[&name, &seq],
    )?;
    Ok(())
}

/// The posts that `filter` admits with ids after `after`, in id order, at
/// most `limit`: a page of [`crate::store::Reader::for_each_post`], which
/// asks for one page at a time (its caller may read other things between
/// two rows, on this same connection).
pub(crate) fn post_page(
    client: &mut Client,
    filter: &PostFilter,
    after: i64,
    limit: usize,
) -> Result<Vec<PostRow>, StoreError> {
    let mut sql = String::from(
        "SELECT p.id, p.source, COALESCE(s.name, p.source), p.info_code, p.url, p.canonical_url, p.guid,
                p.title, p.author, p.summary, p.content_html, p.content_text, p.origin,
                p.published_at, p.published_offset, p.updated_at, p.updated_offset, p.fetched_at,
                ARRAY(SELECT ps.source FROM post_sources ps WHERE ps.post_id = p.id ORDER BY ps.source),
                p.article_state, p.article_attempts, p.article_next_at, p.article_via,
                (SELECT COALESCE(json_agg(json_build_object('url', e.url, 'type', e.type, 'length', e.length)
                                          ORDER BY e.position), '[]')::text
                   FROM enclosures e WHERE e.post_id = p.id),
                p.story_id
         FROM posts p LEFT JOIN sources s ON s.slug = p.source",
    );
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let arg = |args: &mut Vec<Box<dyn ToSql + Sync>>, v: Box<dyn ToSql + Sync>| {
        args.push(v);
        args.len()
    };
    if !filter.sources.is_empty() {
        let n = arg(&mut args, Box::new(filter.sources.clone()));
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM post_sources ps WHERE ps.post_id = p.id AND ps.source = ANY(${n}))"
        ));
    }
    if let Some(id) = filter.id {
        let n = arg(&mut args, Box::new(id));
        clauses.push(format!("p.id = ${n}"));
    }
    if let Some(after) = filter.after_id {
        let n = arg(&mut args, Box::new(after));
        clauses.push(format!("p.id > ${n}"));
    }
    if let Some((after, upto)) = filter.changed {
        let a = arg(&mut args, Box::new(after));
        let b = arg(&mut args, Box::new(upto));
        clauses.push(format!(
            "p.id IN (SELECT post_id FROM post_changes WHERE seq > ${a} AND seq <= ${b})"
        ));
    }
    if let Some(since) = filter.since {
        let n = arg(&mut args, Box::new(since.with_timezone(&Utc)));
        clauses.push(format!("COALESCE(p.published_at, p.fetched_at) >= ${n}"));
    }
    if filter.one_per_story {
        clauses.push(
            "(p.story_id IS NULL OR p.id = (SELECT o.id FROM posts o WHERE o.story_id = p.story_id
                ORDER BY COALESCE(o.published_at, o.fetched_at), o.id LIMIT 1))"
                .to_string(),
        );
    }
    // Page by id (keyset): no cursor, so a reader's snapshot may be open.
    let page = arg(&mut args, Box::new(after));
    clauses.push(format!("p.id > ${page}"));
    sql.push_str(" WHERE ");
    sql.push_str(&clauses.join(" AND "));
    sql.push_str(&format!(" ORDER BY p.id LIMIT {limit}"));
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
    Ok(client
        .query(sql.as_str(), &params)?
        .iter()
        .map(post_row)
        .collect())
}

fn post_row(r: &postgres::Row) -> PostRow {
    let published: Option<DateTime<Utc>> = r.get(13);
    PostRow {
        id: r.get(0),
        source: r.get(1),
        source_name: r.get(2),
        info_code: r.get(3),
        url: r.get(4),
        canonical_url: r.get(5),
        guid: r.get(6),
        title: r.get(7),
        author: r.get(8),
        summary: r.get(9),
        content_html: r.get(10),
        content_text: r.get(11),
        origin: r.get(12),
        published_at: local_text(published, r.get(14)),
        updated_at: local_text(r.get(15), r.get(16)),
        fetched_at: utc_text(&r.get(17)),
        sources: r.get(18),
        article_state: r.get(19),
        article_attempts: r.get(20),
        article_next_at: r.get::<_, Option<DateTime<Utc>>>(21).as_ref().map(utc_text),
        article_via: r.get(22),
        published_utc: published.as_ref().map(utc_text),
        enclosures: serde_json::from_str(r.get::<_, &str>(23)).unwrap_or_default(),
        story_id: r.get(24),
    }
}
