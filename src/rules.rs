//! Rules: which items a source keeps. `[[rules]]` (every source) and a
//! source's own `[[sources.rules]]`, each a regular expression (or a plain
//! keyword) over one field of an item, with `action = "block"` (an item
//! that matches is dropped) or `"keep"` (once any keep rule applies to a
//! source, only items that match one are kept). Judged on what the feed
//! says, after parsing and before the store: a blocked item is neither
//! stored nor fetched as an article. Pure functions over checked rules
//! ([`crate::config::Rule`]).

use crate::config::{Rule, RuleAction, RuleField};
use crate::store::{NewPost, PostRow};

/// What rules look at: an item on its way in, or a stored post (hooks).
pub trait Fields {
    fn title(&self) -> Option<&str>;
    /// The body's text, else the summary.
    fn content(&self) -> Option<&str>;
    fn author(&self) -> Option<&str>;
    fn url(&self) -> &str;
    fn origin(&self) -> Option<&str>;
}

/// The same accessors for both: they differ only in where the canonical
/// URL is kept.
macro_rules! fields {
    ($t:ty, |$p:ident| $canonical:expr) => {
        impl Fields for $t {
            fn title(&self) -> Option<&str> {
                self.title.as_deref()
            }
            fn content(&self) -> Option<&str> {
                self.content_text.as_deref().or(self.summary.as_deref())
            }
            fn author(&self) -> Option<&str> {
                self.author.as_deref()
            }
            fn url(&self) -> &str {
                let $p = self;
                self.url.as_deref().unwrap_or($canonical)
            }
            fn origin(&self) -> Option<&str> {
                self.origin.as_deref()
            }
        }
    };
}

fields!(NewPost, |p| &p.identity.canonical_url);
fields!(PostRow, |p| &p.canonical_url);

/// The text of `field` in `post`; `Any` is every field, one per line.
fn field_text(post: &impl Fields, field: RuleField) -> String {
    let or_empty = |s: Option<&str>| s.unwrap_or_default().to_string();
    match field {
        RuleField::Title => or_empty(post.title()),
        RuleField::Content => or_empty(post.content()),
        RuleField::Author => or_empty(post.author()),
        RuleField::Url => post.url().to_string(),
        RuleField::Origin => or_empty(post.origin()),
        RuleField::Any => [
            post.title().unwrap_or_default(),
            post.content().unwrap_or_default(),
            post.author().unwrap_or_default(),
            post.url(),
            post.origin().unwrap_or_default(),
        ]
        .join("\n"),
    }
}

fn matches(rule: &Rule, post: &impl Fields) -> bool {
    rule.regex.is_match(&field_text(post, rule.field))
}

/// Why `post` is blocked by `rules` (the rule, as the configuration states
/// it), or `None` when it is kept: a block rule that matches blocks it;
/// else, when there are keep rules, it is kept only if one matches.
pub fn blocked_by(rules: &[Rule], post: &impl Fields) -> Option<String> {
    if let Some(r) = rules
        .iter()
        .find(|r| r.action == RuleAction::Block && matches(r, post))
    {
        return Some(r.label.clone());
    }
    let keeps: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.action == RuleAction::Keep)
        .collect();
    if keeps.is_empty() || keeps.iter().any(|r| matches(r, post)) {
        return None;
    }
    let labels: Vec<&str> = keeps.iter().map(|r| r.label.as_str()).collect();
    Some(format!("no keep rule matched ({})", labels.join("; ")))
}

/// Splits `posts` into those kept and those blocked, with the reason.
pub fn apply(rules: &[Rule], posts: Vec<NewPost>) -> (Vec<NewPost>, Vec<(NewPost, String)>) {
    if rules.is_empty() {
        return (posts, Vec::new());
    }
    let mut kept = Vec::with_capacity(posts.len());
    let mut blocked = Vec::new();
    for p in posts {
        match blocked_by(rules, &p) {
            Some(why) => blocked.push((p, why)),
            None => kept.push(p),
        }
    }
    (kept, blocked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::Identity;
    use std::sync::Arc;

    fn rule(action: RuleAction, field: RuleField, re: &str) -> Rule {
        Rule {
            action,
            field,
            regex: Arc::new(regex::Regex::new(re).unwrap()),
            label: format!("{action:?} {field:?} {re}"),
        }
    }

    fn post(title: &str, author: &str) -> NewPost {
        NewPost {
            identity: Identity {
                info_code: None,
                canonical_url: format!("http://a.example/{title}"),
                earlier: Vec::new(),
            },
            title: Some(title.into()),
            author: Some(author.into()),
            content_text: Some("正文".into()),
            ..NewPost::default()
        }
    }

    #[test]
    fn block_wins_and_keep_restricts() {
        let block = rule(RuleAction::Block, RuleField::Title, "广告");
        let keep = rule(RuleAction::Keep, RuleField::Title, "A股|港股");
        let by_author = rule(RuleAction::Keep, RuleField::Author, "^新华社$");
        assert_eq!(blocked_by(&[], &post("任何", "x")), None);
        assert_eq!(
            blocked_by(std::slice::from_ref(&block), &post("推广广告", "x")).as_deref(),
            Some("Block Title 广告")
        );
        let rules = [block.clone(), keep.clone(), by_author];
        assert_eq!(blocked_by(&rules, &post("A股收盘", "x")), None);
        assert_eq!(blocked_by(&rules, &post("天气", "新华社")), None);
        // A block rule beats a keep rule that also matches.
        assert!(blocked_by(&rules, &post("A股广告", "x")).is_some());
        let why = blocked_by(&rules, &post("天气", "x")).unwrap();
        assert!(why.starts_with("no keep rule matched"), "{why}");
        let any = rule(RuleAction::Block, RuleField::Any, "正文");
        assert!(blocked_by(&[any], &post("t", "a")).is_some());
        let (kept, blocked) = apply(&[block], vec![post("A股", "x"), post("广告", "x")]);
        assert_eq!((kept.len(), blocked.len()), (1, 1));
    }
}
