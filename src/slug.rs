//! Slugs: the toneless-pinyin, lowercase, separator-free names used for default
//! source slugs and Jekyll categories (`央视新闻客户端` → `yangshixinwenkehuduan`).
//!
//! Han characters go through the `pinyin` crate, which takes each character's
//! first (most common) reading: `重庆` gives `zhongqing`, which is why every
//! source may set `slug` explicitly.

use pinyin::ToPinyin;

/// The slug of `text`: Han characters as toneless pinyin, ASCII letters and
/// digits kept and lowercased, everything else dropped.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if let Some(p) = ch.to_pinyin() {
            out.push_str(p.plain());
        } else if let Some(folded) = fold_fullwidth(ch) {
            out.push(folded);
        }
    }
    out
}

/// Full-width ASCII letters and digits (`Ａ`, `１`), common in Chinese titles,
/// count as their ASCII forms.
fn fold_fullwidth(ch: char) -> Option<char> {
    let c = u32::from(ch);
    if (0xFF01..=0xFF5E).contains(&c) {
        let ascii = char::from_u32(c - 0xFEE0)?;
        if ascii.is_ascii_alphanumeric() {
            return Some(ascii.to_ascii_lowercase());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn chinese_media_names() {
        assert_eq!(slugify("央视新闻客户端"), "yangshixinwenkehuduan");
        assert_eq!(slugify("新华社"), "xinhuashe");
        assert_eq!(slugify("第一财经"), "diyicaijing");
        assert_eq!(slugify("21世纪经济报道"), "21shijijingjibaodao");
    }

    #[test]
    fn latin_and_han_mixed() {
        assert_eq!(slugify("FT中文网"), "ftzhongwenwang");
        assert_eq!(slugify("BBC News 中文"), "bbcnewszhongwen");
        assert_eq!(slugify("Ｒｅｕｔｅｒｓ路透"), "reuterslutou");
    }

    #[test]
    fn punctuation_is_dropped() {
        assert_eq!(
            slugify("人民网-财经频道（要闻）"),
            "renminwangcaijingpindaoyaowen"
        );
        assert_eq!(slugify("!!!"), "");
    }
}
