use chrono::DateTime;

use super::*;

#[derive(serde::Deserialize)]
struct Set {
    post: Vec<Labelled>,
}

#[derive(serde::Deserialize)]
struct Labelled {
    id: u32,
    story: String,
    outlet: String,
    title: String,
    published: String,
    text: String,
}

/// The labelled set of `tests/fixtures/stories/`.
fn labelled_set() -> Set {
    let path = format!(
        "{}/tests/fixtures/stories/labelled.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The labelled set of `tests/fixtures/stories/`: posts grouped in the
/// order they were published, every pair of them judged; precision and
/// recall of the pairs put in the same story.
#[test]
fn the_labelled_set_is_grouped_as_labelled() {
    let set = labelled_set();
    let mut posts: Vec<&Labelled> = set.post.iter().collect();
    posts.sort_by_key(|p| DateTime::parse_from_rfc3339(&p.published).unwrap());
    let mut grouper = Grouper::default();
    let filed: Vec<(&Labelled, usize)> = posts
        .iter()
        .map(|p| {
            let at = DateTime::parse_from_rfc3339(&p.published)
                .ok()
                .map(|t| t.timestamp());
            (
                *p,
                grouper.add(Fingerprint::of(&p.title, &p.text), at, THRESHOLD),
            )
        })
        .collect();
    let assigned: Vec<(&Labelled, i64)> = filed
        .iter()
        .map(|&(p, i)| (p, grouper.story(i).unwrap()))
        .collect();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    let mut wrong = Vec::new();
    for (i, (a, sa)) in assigned.iter().enumerate() {
        for (b, sb) in assigned.iter().skip(i + 1) {
            match (a.story == b.story, sa == sb) {
                (true, true) => tp += 1,
                (false, true) => {
                    fp += 1;
                    wrong.push(format!(
                        "joined: {} {} / {} {}",
                        a.id, a.outlet, b.id, b.outlet
                    ));
                }
                (true, false) => {
                    fn_ += 1;
                    wrong.push(format!(
                        "apart: {} {} / {} {}",
                        a.id, a.outlet, b.id, b.outlet
                    ));
                }
                (false, false) => {}
            }
        }
    }
    let precision = f64::from(tp) / f64::from((tp + fp).max(1));
    let recall = f64::from(tp) / f64::from((tp + fn_).max(1));
    eprintln!(
        "{} posts: {tp} pairs right, {fp} joined wrongly, {fn_} kept apart wrongly; precision {precision:.3}, recall {recall:.3}\n{}",
        posts.len(),
        wrong.join("\n")
    );
    assert!(tp > 20, "the set has positive pairs");
    assert!(precision >= 0.995, "precision {precision:.3}: {wrong:?}");
    assert!(recall >= 0.95, "recall {recall:.3}: {wrong:?}");
}

/// Signatures are stored: the same text gives the same one in every
/// version (this pins the hash).
#[test]
fn signatures_do_not_change_between_versions() {
    let fp = Fingerprint::of(
        "标题",
        &"央行宣布降准0.25个百分点，释放长期资金约5000亿元。".repeat(8),
    );
    assert!(!fp.short);
    assert_eq!(fp.text.len(), TEXT_BINS);
    assert_eq!(
        &fp.text[..4],
        &[22201, 5996, 49393, 31722],
        "pinned: the first four values of this signature"
    );
}

#[test]
fn what_outlets_change_is_not_compared() {
    assert_eq!(normalize("０.２５％，Ａ股"), "025a股");
    let kept = strip_lines(
        "正文第一段。\n（文章来源：新华社）\n责任编辑：张三\n每经记者 黄鑫磊 每经编辑 陈俊杰\n资料图。视觉中国 图\n正文第二段。",
    );
    assert_eq!(kept, "正文第一段。\n正文第二段。");
    assert_eq!(
        numbers("3月15日，2023年上涨1.0%，报3327.18点，上涨1.0%，成交480亿元"),
        ["1.0", "3327.18", "480"]
    );
}

/// Releases of the same template with other numbers are other stories,
/// however alike their words.
#[test]
fn the_same_template_with_other_numbers_is_another_story() {
    let wrap = |a: &str, b: &str, c: &str, d: &str| {
        format!(
            "截至收盘，上证指数上涨{a}%，报{b}点；深证成指上涨{c}%，报{d}点。盘面上，半导体、人工智能板块走强，房地产、银行板块调整，医药、消费板块震荡。个股涨多跌少，超过3000只个股上涨，近百只个股涨停。两市合计成交逾万亿元，连续第五个交易日突破万亿元，北向资金全天净买入，外资连续三日加仓。"
        )
    };
    let one = Fingerprint::of("收评", &wrap("0.41", "3327.18", "0.12", "11731.37"));
    let two = Fingerprint::of("收评", &wrap("0.27", "3318.36", "0.42", "11682.11"));
    assert!(one.similarity(&two) > 0.3, "{}", one.similarity(&two));
    assert!(!one.matches(&two, THRESHOLD, true));
    assert!(one.matches(&one.clone(), THRESHOLD, true));
}

/// Flashes of one template whose headline is all there is (a list of
/// 快讯: the body repeats the title) are other stories when a number of the
/// title stands where the other has another; a rewritten headline of the
/// same flash, with a number the other lacks, is the same story.
#[test]
fn flashes_of_one_template_with_other_numbers_are_other_stories() {
    let flash = |t: &str| Fingerprint::of(t, &format!("{t}。"));
    for (a, b) in [
        ("北向资金净流入超50亿元", "北向资金净流入超100亿元"),
        ("沪深两市成交额突破8000亿元", "沪深两市成交额突破1万亿元"),
        (
            "央行今日开展20亿元7天期逆回购操作",
            "央行今日开展100亿元7天期逆回购操作",
        ),
    ] {
        let (a, b) = (flash(a), flash(b));
        assert!(a.short && b.short);
        assert!(
            agreement(&a.title, &b.title) >= THRESHOLD,
            "alike titles: {}",
            agreement(&a.title, &b.title)
        );
        assert!(!a.matches(&b, THRESHOLD, true) && !b.matches(&a, THRESHOLD, true));
        // Turned down in memory already, before any signature is read.
        assert!(!Sketch::of(&a).may_match(&Sketch::of(&b), true, THRESHOLD));
    }
    let a = flash("央行宣布降准0.25个百分点");
    let b = flash("央行宣布3月27日降准0.25个百分点");
    assert!(a.matches(&b, THRESHOLD, true) && b.matches(&a, THRESHOLD, true));
    // b's three numbers are more than a sketch keeps: never a reason to
    // turn it down.
    assert!(Sketch::of(&a).may_match(&Sketch::of(&b), true, THRESHOLD));
    // Stored and read back with them; a signature stored before titles had
    // numbers reads back with none.
    assert_eq!(a.title_numbers, ["降准=025"]);
    assert_eq!(Fingerprint::from_blob(&a.to_blob()), Some(a.clone()));
    let mut old = a.to_blob();
    old.truncate(old.len() - "\nt降准=025".len());
    assert!(Fingerprint::from_blob(&old).is_some_and(|f| f.title_numbers.is_empty()));
}

/// The sketch's title test turns down only pairs whose titles the check
/// would turn down (at any threshold), and it turns down those of one beat
/// that share a third of their character pairs: headlines drawn from one
/// desk's words, thousands of pairs, none missed.
#[test]
fn the_sketch_turns_down_titles_only_as_the_check_would() {
    let words = [
        "央行",
        "降准",
        "沪指",
        "收涨",
        "创业板指",
        "公司",
        "发布",
        "年度",
        "业绩预告",
        "净利润",
        "同比增长",
        "股东",
        "减持",
        "回购",
        "北向资金",
        "净流入",
        "港股",
        "恒指",
        "收跌",
        "美联储",
        "加息",
        "人民币",
        "中间价",
        "上调",
        "新能源汽车",
        "销量",
        "光伏",
        "芯片",
        "板块",
        "午后",
        "拉升",
        "涨停",
        "两市",
        "成交额",
    ];
    // A desk's headlines: four to six words, the first words far likelier
    // (fixed draws: the same pairs every run).
    let mut draw = crate::testing::draws(42);
    let mut next = |n: usize| n - 1 - (draw() % (n * n)).isqrt();
    let mut titles: Vec<String> = (0..200)
        .map(|_| {
            let len = 4 + next(3);
            (0..len).map(|_| words[next(words.len())]).collect()
        })
        .collect();
    // And 100 of them rewritten: a word more, at the end.
    for i in 0..100 {
        let more = format!("{}{}", titles[i], words[next(words.len())]);
        titles.push(more);
    }
    let fps: Vec<Fingerprint> = titles.iter().map(|t| Fingerprint::of(t, t)).collect();
    for threshold in [0.3, THRESHOLD, 0.7] {
        let (mut matched, mut near, mut let_through) = (0, 0, 0);
        for (i, a) in fps.iter().enumerate() {
            for b in &fps[i + 1..] {
                assert!(a.short && a.text.is_empty());
                let alike = agreement(&a.title, &b.title);
                let passes = Sketch::of(a).may_match(&Sketch::of(b), true, threshold);
                if a.matches(b, threshold, true) {
                    assert!(passes, "{alike}: turned down at {threshold}");
                    matched += 1;
                } else if alike >= threshold - 0.25 {
                    near += 1;
                    let_through += usize::from(passes);
                }
            }
        }
        // Pairs below the threshold but near it are many; a byte agrees by
        // chance once in 256, so few of them reach a read.
        assert!(matched > 20, "{matched} pairs matched at {threshold}");
        if threshold > 0.6 {
            continue;
        }
        assert!(near > 1000, "{near} near pairs at {threshold}");
        assert!(
            let_through * 50 < near,
            "{let_through} of {near} near pairs let through at {threshold}"
        );
    }
}

/// The fast paths of `fold_char` and `is_alnum` answer as the general
/// ones do (signatures are stored: a character compared otherwise would
/// change them).
#[test]
fn folding_fast_paths_agree_with_the_general_ones() {
    for c in (0x2000..=0x206F)
        .chain(0x3000..=0x303F)
        .filter_map(char::from_u32)
    {
        let general = if c == '\u{3000}' {
            ' '
        } else {
            c.to_lowercase().next().unwrap_or(c)
        };
        assert_eq!(fold_char(c), general, "{:04X}", c as u32);
        assert_eq!(is_alnum(c), c.is_alphanumeric(), "{:04X}", c as u32);
    }
}

/// The fingerprint reads ASCII and the common Chinese characters a byte
/// at a time: on texts of every kind of character around those ranges'
/// edges, what it compares (the text's signature, its numbers, whether it
/// is short) is what a character at a time gives.
#[test]
fn the_byte_path_reads_text_as_characters_do() {
    let pool = [
        'a',
        'Z',
        'q',
        'M',
        '0',
        '7',
        '.',
        ' ',
        '\n',
        ',',
        '-',
        '\u{7f}',
        'Ａ',
        'ｚ',
        '０',
        '９',
        '中',
        '\u{4E00}',
        '\u{9FFF}',
        '\u{4DFF}',
        '\u{4DC0}',
        '\u{4DBF}',
        '\u{4000}',
        '\u{3400}',
        '\u{A000}',
        '\u{3002}',
        '\u{3000}',
        'é',
        'É',
        'Σ',
        '\u{20000}',
        '々',
        '〇',
        '\u{1F600}',
        '，',
        '、',
        '“',
        '”',
        '—',
        '…',
        '《',
        '\u{303F}',
        '\u{3040}',
        '\u{FF5E}',
        '\u{FF5F}',
        'ｱ',
        'Ⅷ',
        '\u{0800}',
        '\u{FFFD}',
        '\u{E000}',
        '\u{206F}',
        '\u{2070}',
        '\u{1FFF}',
    ];
    let mut next = crate::testing::below(11);
    for round in 0..3000 {
        let len = if round % 50 == 0 {
            1500 + next(800)
        } else {
            next(300)
        };
        let text: String = (0..len).map(|_| pool[next(pool.len())]).collect();
        let fp = Fingerprint::of("", &text);
        let mut body: Vec<char> = Vec::new();
        let mut nums = Numbers::default();
        'lines: for line in text.split('\n') {
            let line = line.trim();
            if line.is_empty() || is_outlet_line(line) {
                continue;
            }
            for c in line.chars().map(fold_char) {
                nums.feed(c);
                if is_alnum(c) {
                    body.push(c);
                    if body.len() >= MAX_CHARS {
                        break 'lines;
                    }
                }
            }
            nums.feed('\n');
        }
        nums.end();
        let signature = if body.len() < TINY {
            Vec::new()
        } else {
            minhash(&body, SHINGLE, TEXT_BINS)
        };
        assert_eq!(fp.text, signature, "{text:?}");
        assert_eq!(fp.numbers, nums.found, "{text:?}");
        assert_eq!(fp.short, body.len() < SHORT, "{text:?}");
    }
}

/// What is stored is read back whole; anything else is refused, never
/// trusted (a row of another version, another tool's, a truncated one).
#[test]
fn a_stored_signature_reads_back_and_nothing_else_does() {
    let fp = Fingerprint::of(
        "央行降准0.25个百分点",
        &"央行宣布降准0.25个百分点，释放长期资金约5000亿元。".repeat(3),
    );
    let blob = fp.to_blob();
    assert_eq!(Fingerprint::from_blob(&blob), Some(fp.clone()));
    // The sketch made with it is the one made of it.
    assert_eq!(*fp.sketch(), Sketch::of(&fp));
    assert_eq!(fp.numbers, ["0.25", "5000"]);
    let teaser = Fingerprint::of("", "短讯。");
    assert!(teaser.text.is_empty() && teaser.title.is_empty() && teaser.short);
    assert_eq!(Fingerprint::from_blob(&teaser.to_blob()), Some(teaser));
    for bad in [
        &blob[..3],
        &blob[..40],
        // Version 1 (32-bit values), and a version to come.
        &[1, 0, 0, 0][..],
        &[3, 0, 0, 0][..],
        &[2, 2, 0, 0][..],
        &[2, 0, 200, 0][..],
        &[2, 0, 0, 0, 0xff][..],
    ] {
        assert_eq!(Fingerprint::from_blob(bad), None, "{bad:?}");
    }
}

/// Densification: a text too short to fill every bin still fills them
/// all from its own values, the same way for the same text.
#[test]
fn every_bin_is_filled_from_the_text_itself() {
    let fp = Fingerprint::of(
        "央行决定降准",
        "中国人民银行决定下调金融机构存款准备金率零点二五个百分点以支持实体经济",
    );
    assert_eq!(fp.text.len(), TEXT_BINS);
    assert!(fp.text.iter().all(|&v| v != u16::MAX));
    assert_eq!(fp.title.len(), TITLE_BINS);
    let distinct: HashSet<u16> = fp.text.iter().copied().collect();
    assert!(
        distinct.len() < 40,
        "{} values from ~31 shingles",
        distinct.len()
    );
    assert_eq!(
        fp,
        Fingerprint::of(
            "央行决定降准",
            "中国人民银行决定下调金融机构存款准备金率零点二五个百分点以支持实体经济"
        )
    );
    // A title of a word or two (`快讯`) is not matched on.
    assert!(Fingerprint::of("快讯", "").title.is_empty());
}

/// The rolled window hashes are the windows' polynomials, computed whole.
#[test]
fn rolled_shingles_are_the_windows_own() {
    let chars: Vec<char> = "央行宣布降准0.25个百分点，释放长期资金abcDEF"
        .chars()
        .collect();
    for n in [1, 2, 5, 40, 100] {
        let mut rolled = Vec::new();
        for_each_shingle(&chars, n, |h| rolled.push(h));
        let width = n.min(chars.len());
        let whole: Vec<u64> = chars
            .windows(width)
            .map(|w| {
                w.iter().fold(0u64, |h, &c| {
                    h.wrapping_mul(POLY).wrapping_add(u64::from(c))
                })
            })
            .collect();
        assert_eq!(rolled, whole, "n = {n}");
    }
    let mut none = Vec::new();
    for_each_shingle(&[], 5, |h| none.push(h));
    assert!(none.is_empty());
}

/// Long articles are compared on their first [`MAX_CHARS`] characters:
/// republications that drop a paragraph near the top, rewrite the lede,
/// or cut the article short still match the original; another article
/// that opens with the same paragraph does not.
#[test]
fn long_articles_match_on_their_opening() {
    let set = labelled_set();
    // Paragraphs of different stories of the set, each once: an article of
    // 14 distinct paragraphs, far past the cap.
    let mut seen = HashSet::new();
    let paragraphs: Vec<String> = set
        .post
        .iter()
        .filter(|p| seen.insert(p.story.clone()))
        .map(|p| p.text.trim().replace("\n\n", " "))
        .take(14)
        .collect();
    assert_eq!(paragraphs.len(), 14);
    let article = |ps: &[&str]| ps.join("\n");
    let all: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
    let original = Fingerprint::of("原文标题", &article(&all));
    let total: usize = all.iter().map(|p| normalize(p).chars().count()).sum();
    assert!(total > 2 * MAX_CHARS, "{total} characters");

    let mut dropped = all.clone();
    dropped.remove(1);
    dropped.insert(0, "（文章来源：新华社）");
    dropped.push("责任编辑：张三");
    let rewritten_lede = [
        &["本报讯 据有关方面消息，相关部门今天就此作出说明。"][..],
        &all[1..],
    ]
    .concat();
    let cut = all[..4].to_vec();
    for (what, text) in [
        ("a paragraph dropped near the top", article(&dropped)),
        ("the lede rewritten", article(&rewritten_lede)),
        ("cut after four paragraphs", article(&cut)),
    ] {
        let fp = Fingerprint::of("转载标题", &text);
        assert!(
            fp.matches(&original, THRESHOLD, true),
            "{what}: similarity {:.2}",
            fp.similarity(&original)
        );
    }
    // The same opening paragraph, then another article.
    let other: Vec<&str> = std::iter::once(all[0])
        .chain(all[8..].iter().copied())
        .collect();
    let fp = Fingerprint::of("另一篇", &article(&other));
    assert!(
        !fp.matches(&original, THRESHOLD, true),
        "similarity {:.2}",
        fp.similarity(&original)
    );
}

/// A body or a title of megabytes costs what its opening does: the same
/// fingerprint as the first characters alone.
#[test]
fn a_huge_body_is_read_only_to_its_opening() {
    let opening = "央行宣布降准0.25个百分点，释放长期资金约5000亿元。".repeat(60);
    let huge = format!("{opening}{}", "无关的填充文字".repeat(2_000_000));
    let title = "标题".repeat(1_000_000);
    let fp = Fingerprint::of(&title, &huge);
    let short: String = opening.chars().collect();
    assert_eq!(fp.text, Fingerprint::of("", &short).text);
    assert_eq!(fp.title, Fingerprint::of(&"标题".repeat(100), "").title);
}

/// Short English posts are matched on their headlines' words, not their
/// letter pairs: headlines of different stories (the vocabulary of one
/// business desk, so they share words like `stocks`, `rates`, `the`)
/// never match, a headline rewritten by a word or two does, and a Chinese
/// headline's signature is its character pairs', as before.
#[test]
fn english_headlines_are_compared_by_their_words() {
    let headlines = [
        "Stocks close higher as investors weigh the outlook for interest rates",
        "Treasury yields rise after stronger than expected retail sales data",
        "Oil prices climb as OPEC signals deeper output cuts into the summer",
        "Dollar slips against the yen as traders price in a slower pace of hikes",
        "Tech shares lead the market rebound after a volatile week on Wall Street",
        "Bank of England holds rates steady and warns inflation will stay high",
        "Shares of regional lenders tumble as deposit outflows spook investors",
        "European markets open lower as energy stocks drag on the benchmark",
        "Gold hits a record as central banks keep buying the precious metal",
        "Chinese exports beat forecasts as shipments to Southeast Asia surge",
        "Retailers warn of a tough holiday season as shoppers cut back on spending",
        "Home sales fall for a third straight month as mortgage rates climb",
        "Airline stocks rally after carriers raise their profit forecasts",
        "Copper prices slide on worries about weaker demand from China",
        "Investors pile into money market funds as bank worries linger",
        "Wheat futures jump after the export corridor deal collapses",
        "The euro weakens as data show the bloc's economy stalled last quarter",
        "Chipmakers extend gains after a strong forecast from the sector leader",
        "Consumer confidence drops to a six month low as prices keep rising",
        "Asian shares mixed as traders await the central bank's rate decision",
    ];
    let teaser = |t: &str| Fingerprint::of(t, "Read the full story.");
    let all: Vec<Fingerprint> = headlines.iter().map(|h| teaser(h)).collect();
    assert!(all.iter().all(|f| f.short && !f.title.is_empty()));
    for (i, a) in all.iter().enumerate() {
        for (j, b) in all.iter().enumerate().skip(i + 1) {
            assert!(
                !a.matches(b, THRESHOLD, true),
                "{:?} and {:?} (agreement {:.2})",
                headlines[i],
                headlines[j],
                agreement(&a.title, &b.title)
            );
        }
    }
    // Unrelated headlines stay well under the threshold, with room for the
    // estimate's noise (36 bins): letter pairs put two of these at 0.42.
    let most = all
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            all.iter()
                .skip(i + 1)
                .map(move |b| agreement(&a.title, &b.title))
        })
        .fold(0.0, f64::max);
    assert!(most < 0.35, "unrelated headlines agree at {most:.2}");
    // Headlines of the benchmark's corpus (words of Debian's word list)
    // whose letter pairs agreed at 0.56 and 0.53: their teasers, and the
    // stories they stood for, were joined.
    for (a, b) in [
        (
            "Infections eroding is titillated cawing the burglars hairsbreadth drooping recall, its has",
            "Burglars deceleration highjacking locusts deleted the pertained carat year",
        ),
        (
            "Feminines overlies exasperated not clarinet in psychopath nullify nutcrackers encyclopaedi",
            "Will of billion with belch alleys stoppers precincts varieties synods this outmoded nutcra",
        ),
    ] {
        assert!(
            !teaser(a).matches(&teaser(b), THRESHOLD, true),
            "{a:?} and {b:?}"
        );
    }
    let rewritten =
        teaser("Oil prices climb after OPEC signals deeper output cuts into the summer");
    assert!(rewritten.matches(&all[2], THRESHOLD, true));
    // Too few words to tell: not compared.
    assert!(teaser("Markets wrap").title.is_empty());
    for zh in [
        "央行宣布下调金融机构存款准备金率0.25个百分点",
        "5月LPR出炉：5年期以上品种下调15个基点",
        "A股收盘：沪指涨0.41%",
    ] {
        let pairs: Vec<char> = zh.chars().map(fold_char).filter(|&c| is_alnum(c)).collect();
        assert_eq!(
            title_minhash(zh, &pairs),
            minhash(&pairs, 2, TITLE_BINS),
            "{zh}"
        );
    }
}

/// The outlet pattern runs only on the lines `may_be_outlet` lets
/// through, so it must let through every line the pattern matches: lines
/// built of the pattern's own pieces (each name, separator and ending)
/// and some text, every line of the labelled set, and ordinary short
/// lines turned down.
#[test]
fn the_outlet_prefilter_lets_every_outlet_line_through() {
    let mut pieces: Vec<&str> = concat!(
        "文章来源 来源 责任编辑 责编 编辑 校对 作者 图片编辑 Source 记者 ： : | ｜ （ ( 【 [ ",
        "图 摄 供图 资料图 . Photo Image Credit 海量资讯 广告合作 张三 新华社 正文 a 1",
    )
    .split(' ')
    .collect();
    pieces.extend([" ", "contributed to this report"]);
    let mut lines = crate::testing::joined(7, &pieces, 100_000, 1..8);
    let set = labelled_set();
    lines.extend(
        set.post
            .iter()
            .flat_map(|p| p.text.lines().map(str::to_string)),
    );
    let mut matched = 0;
    for line in &lines {
        let line = line.trim();
        if OUTLET.is_match(line) {
            matched += 1;
            assert!(may_be_outlet(line), "{line:?}");
        }
    }
    assert!(matched > 10_000, "{matched} lines matched");
    for line in [
        "正文第二段。",
        "“这是一个引语。”",
        "2024年3月15日",
        "Markets wrap",
    ] {
        assert!(!may_be_outlet(line), "{line}");
    }
}

/// `minhash_of` as it was before its probe tables: one hash an attempt,
/// vectors of scratch. The signatures are stored, so the two must agree
/// on every bin.
fn minhash_of_by_hashes(bins: usize, shingles: &[u64]) -> Vec<u16> {
    const EMPTY: u64 = 1 << 32;
    let mut sig = vec![EMPTY; bins];
    for &h in shingles {
        let h = mix(h ^ 0x9E37_79B9_7F4A_7C15);
        let bin = (((h >> 32) * bins as u64) >> 32) as usize;
        sig[bin] = sig[bin].min(u64::from(h as u32));
    }
    if sig.iter().all(|&v| v == EMPTY) {
        return vec![u16::MAX; bins];
    }
    let filled: Vec<bool> = sig.iter().map(|&v| v != EMPTY).collect();
    (0..bins)
        .map(|i| {
            if filled[i] {
                return sig[i] as u16;
            }
            let j = (0..bins as u64 * 64)
                .map(|a| (((mix(((i as u64) << 32) | a) >> 32) * bins as u64) >> 32) as usize)
                .find(|&j| filled[j])
                .or_else(|| (i..bins).chain(0..i).find(|&j| filled[j]))
                .unwrap();
            sig[j] as u16
        })
        .collect()
}

/// Densified through the probe tables, a signature is the one the hashes
/// give: sets from one shingle (a bin filled, the rest probing far past
/// the tables) to many (every bin filled), in both sizes.
#[test]
fn probe_tables_densify_as_the_hashes_do() {
    let mut seed = 7u64;
    for bins in [TITLE_BINS, TEXT_BINS] {
        for n in (0..80).chain([150, 400, 1000]) {
            for _ in 0..20 {
                let shingles: Vec<u64> = (0..n)
                    .map(|_| {
                        seed = mix(seed);
                        seed
                    })
                    .collect();
                let ours = minhash_of(bins, |add| shingles.iter().for_each(|&h| add(h)));
                assert_eq!(
                    ours,
                    minhash_of_by_hashes(bins, &shingles),
                    "{bins} bins, {n}"
                );
            }
        }
    }
}

/// A stored signature compared in place (a candidate's check) decides
/// every pair of the labelled set as the fingerprint read back from it
/// does, at thresholds around the configured one, close in time or not;
/// a blob that reads back as nothing matches nothing.
#[test]
fn a_signature_compared_in_place_decides_as_read_back() {
    let set = labelled_set();
    let fps: Vec<Fingerprint> = set
        .post
        .iter()
        .map(|p| Fingerprint::of(&p.title, &p.text))
        .collect();
    let (mut matched, mut checks) = (0, 0);
    for a in &fps {
        let view = a.view();
        for b in &fps {
            let blob = b.to_blob();
            let back = Fingerprint::from_blob(&blob).unwrap();
            for threshold in [0.3, THRESHOLD, 0.7] {
                for close in [false, true] {
                    let expect = a.matches(&back, threshold, close);
                    assert_eq!(
                        view.matches_stored(&blob, threshold, close),
                        expect,
                        "{threshold} {close}"
                    );
                    checks += 1;
                    matched += usize::from(expect);
                }
            }
        }
    }
    assert!(matched > 0 && matched < checks, "{matched} of {checks}");
    let blob = fps[0].to_blob();
    let mut other_version = blob.clone();
    other_version[0] = BLOB_VERSION + 1;
    for bad in [&[][..], &blob[..3], &blob[..20], &other_version[..]] {
        assert!(Fingerprint::from_blob(bad).is_none());
        assert!(!fps[0].view().matches_stored(bad, 0.0, true));
    }
}
