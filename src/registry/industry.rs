//! The national economic industry classification GB/T 4754-2017
//! (国民经济行业分类): its 20 sections (门类, A–T) and 97 divisions (大类, 01–97).
//!
//! Groups and classes (中类/小类, 3 and 4 digits) are not listed: the registry
//! records an enterprise's section and division, which is what supervision
//! statistics are reported by. A 4-digit class such as 5265 (机动车燃油零售)
//! is reduced to its division with [`division_of_class`].

/// A section (门类) of GB/T 4754-2017.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// The letter, `'A'`–`'T'`.
    pub letter: char,
    pub zh: &'static str,
    pub en: &'static str,
    /// First and last division code of the section; divisions are numbered
    /// consecutively across sections.
    pub first_division: u8,
    pub last_division: u8,
}

/// A division (大类) of GB/T 4754-2017.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Division {
    /// Two digits, `"01"`–`"97"`.
    pub code: &'static str,
    pub zh: &'static str,
    /// Letter of the section the division belongs to.
    pub section: char,
}

/// Why a section/division pair is not a valid classification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndustryError {
    #[error("'{0}' is not a GB/T 4754-2017 section (A-T)")]
    UnknownSection(String),
    #[error("'{0}' is not a GB/T 4754-2017 division (01-97)")]
    UnknownDivision(String),
    #[error("division {division} belongs to section {actual}, not {given}")]
    WrongSection {
        division: String,
        given: char,
        actual: char,
    },
}

macro_rules! sec {
    ($l:literal, $zh:literal, $en:literal, $a:literal, $b:literal) => {
        Section {
            letter: $l,
            zh: $zh,
            en: $en,
            first_division: $a,
            last_division: $b,
        }
    };
}

static SECTIONS: [Section; 20] = [
    sec!(
        'A',
        "农、林、牧、渔业",
        "Agriculture, forestry, animal husbandry and fishery",
        1,
        5
    ),
    sec!('B', "采矿业", "Mining", 6, 12),
    sec!('C', "制造业", "Manufacturing", 13, 43),
    sec!(
        'D',
        "电力、热力、燃气及水生产和供应业",
        "Production and supply of electricity, heat, gas and water",
        44,
        46
    ),
    sec!('E', "建筑业", "Construction", 47, 50),
    sec!('F', "批发和零售业", "Wholesale and retail trade", 51, 52),
    sec!(
        'G',
        "交通运输、仓储和邮政业",
        "Transport, storage and postal services",
        53,
        60
    ),
    sec!('H', "住宿和餐饮业", "Accommodation and catering", 61, 62),
    sec!(
        'I',
        "信息传输、软件和信息技术服务业",
        "Information transmission, software and information technology services",
        63,
        65
    ),
    sec!('J', "金融业", "Finance", 66, 69),
    sec!('K', "房地产业", "Real estate", 70, 70),
    sec!(
        'L',
        "租赁和商务服务业",
        "Leasing and business services",
        71,
        72
    ),
    sec!(
        'M',
        "科学研究和技术服务业",
        "Scientific research and technical services",
        73,
        75
    ),
    sec!(
        'N',
        "水利、环境和公共设施管理业",
        "Water conservancy, environment and public facilities management",
        76,
        79
    ),
    sec!(
        'O',
        "居民服务、修理和其他服务业",
        "Resident services, repair and other services",
        80,
        82
    ),
    sec!('P', "教育", "Education", 83, 83),
    sec!('Q', "卫生和社会工作", "Health and social work", 84, 85),
    sec!(
        'R',
        "文化、体育和娱乐业",
        "Culture, sports and entertainment",
        86,
        90
    ),
    sec!(
        'S',
        "公共管理、社会保障和社会组织",
        "Public administration, social security and social organisations",
        91,
        96
    ),
    sec!('T', "国际组织", "International organisations", 97, 97),
];

macro_rules! div {
    ($s:literal, $c:literal, $zh:literal) => {
        Division {
            code: $c,
            zh: $zh,
            section: $s,
        }
    };
}

static DIVISIONS: [Division; 97] = [
    div!('A', "01", "农业"),
    div!('A', "02", "林业"),
    div!('A', "03", "畜牧业"),
    div!('A', "04", "渔业"),
    div!('A', "05", "农、林、牧、渔专业及辅助性活动"),
    div!('B', "06", "煤炭开采和洗选业"),
    div!('B', "07", "石油和天然气开采业"),
    div!('B', "08", "黑色金属矿采选业"),
    div!('B', "09", "有色金属矿采选业"),
    div!('B', "10", "非金属矿采选业"),
    div!('B', "11", "开采专业及辅助性活动"),
    div!('B', "12", "其他采矿业"),
    div!('C', "13", "农副食品加工业"),
    div!('C', "14", "食品制造业"),
    div!('C', "15", "酒、饮料和精制茶制造业"),
    div!('C', "16", "烟草制品业"),
    div!('C', "17", "纺织业"),
    div!('C', "18", "纺织服装、服饰业"),
    div!('C', "19", "皮革、毛皮、羽毛及其制品和制鞋业"),
    div!('C', "20", "木材加工和木、竹、藤、棕、草制品业"),
    div!('C', "21", "家具制造业"),
    div!('C', "22", "造纸和纸制品业"),
    div!('C', "23", "印刷和记录媒介复制业"),
    div!('C', "24", "文教、工美、体育和娱乐用品制造业"),
    div!('C', "25", "石油、煤炭及其他燃料加工业"),
    div!('C', "26", "化学原料和化学制品制造业"),
    div!('C', "27", "医药制造业"),
    div!('C', "28", "化学纤维制造业"),
    div!('C', "29", "橡胶和塑料制品业"),
    div!('C', "30", "非金属矿物制品业"),
    div!('C', "31", "黑色金属冶炼和压延加工业"),
    div!('C', "32", "有色金属冶炼和压延加工业"),
    div!('C', "33", "金属制品业"),
    div!('C', "34", "通用设备制造业"),
    div!('C', "35", "专用设备制造业"),
    div!('C', "36", "汽车制造业"),
    div!('C', "37", "铁路、船舶、航空航天和其他运输设备制造业"),
    div!('C', "38", "电气机械和器材制造业"),
    div!('C', "39", "计算机、通信和其他电子设备制造业"),
    div!('C', "40", "仪器仪表制造业"),
    div!('C', "41", "其他制造业"),
    div!('C', "42", "废弃资源综合利用业"),
    div!('C', "43", "金属制品、机械和设备修理业"),
    div!('D', "44", "电力、热力生产和供应业"),
    div!('D', "45", "燃气生产和供应业"),
    div!('D', "46", "水的生产和供应业"),
    div!('E', "47", "房屋建筑业"),
    div!('E', "48", "土木工程建筑业"),
    div!('E', "49", "建筑安装业"),
    div!('E', "50", "建筑装饰、装修和其他建筑业"),
    div!('F', "51", "批发业"),
    div!('F', "52", "零售业"),
    div!('G', "53", "铁路运输业"),
    div!('G', "54", "道路运输业"),
    div!('G', "55", "水上运输业"),
    div!('G', "56", "航空运输业"),
    div!('G', "57", "管道运输业"),
    div!('G', "58", "多式联运和运输代理业"),
    div!('G', "59", "装卸搬运和仓储业"),
    div!('G', "60", "邮政业"),
    div!('H', "61", "住宿业"),
    div!('H', "62", "餐饮业"),
    div!('I', "63", "电信、广播电视和卫星传输服务"),
    div!('I', "64", "互联网和相关服务"),
    div!('I', "65", "软件和信息技术服务业"),
    div!('J', "66", "货币金融服务"),
    div!('J', "67", "资本市场服务"),
    div!('J', "68", "保险业"),
    div!('J', "69", "其他金融业"),
    div!('K', "70", "房地产业"),
    div!('L', "71", "租赁业"),
    div!('L', "72", "商务服务业"),
    div!('M', "73", "研究和试验发展"),
    div!('M', "74", "专业技术服务业"),
    div!('M', "75", "科技推广和应用服务业"),
    div!('N', "76", "水利管理业"),
    div!('N', "77", "生态保护和环境治理业"),
    div!('N', "78", "公共设施管理业"),
    div!('N', "79", "土地管理业"),
    div!('O', "80", "居民服务业"),
    div!('O', "81", "机动车、电子产品和日用产品修理业"),
    div!('O', "82", "其他服务业"),
    div!('P', "83", "教育"),
    div!('Q', "84", "卫生"),
    div!('Q', "85", "社会工作"),
    div!('R', "86", "新闻和出版业"),
    div!('R', "87", "广播、电视、电影和录音制作业"),
    div!('R', "88", "文化艺术业"),
    div!('R', "89", "体育"),
    div!('R', "90", "娱乐业"),
    div!('S', "91", "中国共产党机关"),
    div!('S', "92", "国家机构"),
    div!('S', "93", "人民政协、民主党派"),
    div!('S', "94", "社会保障"),
    div!('S', "95", "群众团体、社会团体和其他成员组织"),
    div!('S', "96", "基层群众自治组织及其他组织"),
    div!('T', "97", "国际组织"),
];

/// All 20 sections in order A–T.
pub fn sections() -> &'static [Section] {
    &SECTIONS
}

/// All 97 divisions in code order.
pub fn divisions() -> &'static [Division] {
    &DIVISIONS
}

/// The section with this letter; case and surrounding spaces are ignored.
pub fn section(letter: &str) -> Option<&'static Section> {
    let mut chars = letter.trim().chars();
    let c = chars.next()?.to_ascii_uppercase();
    if chars.next().is_some() {
        return None;
    }
    SECTIONS.iter().find(|s| s.letter == c)
}

/// The division with this 2-digit code (`"26"`; `"5"` is not accepted, to
/// keep codes unambiguous in imports).
pub fn division(code: &str) -> Option<&'static Division> {
    let code = code.trim();
    if code.len() != 2 {
        return None;
    }
    DIVISIONS.iter().find(|d| d.code == code)
}

/// The division of a 2-, 3- or 4-digit class code (`"5265"` → 52 零售业).
pub fn division_of_class(code: &str) -> Option<&'static Division> {
    let code = code.trim();
    if !(2..=4).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    division(&code[..2])
}

/// The divisions of a section, in code order.
pub fn divisions_of(section: &Section) -> impl Iterator<Item = &'static Division> + '_ {
    DIVISIONS
        .iter()
        .filter(move |d| d.section == section.letter)
}

/// Checks a section and an optional division together, as an enterprise
/// record carries them.
pub fn check(section_letter: &str, division_code: Option<&str>) -> Result<(), IndustryError> {
    let sec = section(section_letter)
        .ok_or_else(|| IndustryError::UnknownSection(section_letter.to_string()))?;
    if let Some(code) = division_code {
        let div = division(code).ok_or_else(|| IndustryError::UnknownDivision(code.to_string()))?;
        if div.section != sec.letter {
            return Err(IndustryError::WrongSection {
                division: div.code.to_string(),
                given: sec.letter,
                actual: div.section,
            });
        }
    }
    Ok(())
}

/// Whether the division belongs to the section (both must exist).
pub fn division_belongs_to(section_letter: &str, division_code: &str) -> bool {
    check(section_letter, Some(division_code)).is_ok()
}

/// The most specific name for a classification: the division's name when it
/// is given and belongs to the section, otherwise the section's name. `None`
/// when the section is unknown.
pub fn industry_name(section_letter: &str, division_code: Option<&str>) -> Option<String> {
    let sec = section(section_letter)?;
    let name = division_code
        .and_then(division)
        .filter(|d| d.section == sec.letter)
        .map_or(sec.zh, |d| d.zh);
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_20_sections_and_97_divisions() {
        assert_eq!(sections().len(), 20);
        assert_eq!(divisions().len(), 97);
        let letters: String = sections().iter().map(|s| s.letter).collect();
        assert_eq!(letters, "ABCDEFGHIJKLMNOPQRST");
    }

    #[test]
    fn divisions_are_numbered_01_to_97_without_gaps() {
        for (i, d) in divisions().iter().enumerate() {
            assert_eq!(d.code, format!("{:02}", i + 1));
        }
    }

    #[test]
    fn each_section_range_matches_the_divisions_listed_under_it() {
        for s in sections() {
            let codes: Vec<u8> = divisions_of(s)
                .map(|d| d.code.parse::<u8>().unwrap())
                .collect();
            let expected: Vec<u8> = (s.first_division..=s.last_division).collect();
            assert_eq!(codes, expected, "section {}", s.letter);
        }
    }

    #[test]
    fn known_pairs_have_their_published_names() {
        assert_eq!(
            industry_name("C", Some("26")).as_deref(),
            Some("化学原料和化学制品制造业")
        );
        assert_eq!(
            industry_name("G", Some("59")).as_deref(),
            Some("装卸搬运和仓储业")
        );
        assert_eq!(industry_name("F", Some("52")).as_deref(), Some("零售业"));
        assert_eq!(industry_name("E", None).as_deref(), Some("建筑业"));
        assert_eq!(
            section("g").map(|s| s.en),
            Some("Transport, storage and postal services")
        );
    }

    #[test]
    fn a_gas_station_class_5265_falls_in_division_52_of_section_f() {
        let d = division_of_class("5265").unwrap();
        assert_eq!((d.code, d.section, d.zh), ("52", 'F', "零售业"));
    }

    #[test]
    fn a_division_outside_its_section_falls_back_to_the_section_name() {
        assert_eq!(
            industry_name("F", Some("26")).as_deref(),
            Some("批发和零售业")
        );
        assert_eq!(
            industry_name("F", Some("99")).as_deref(),
            Some("批发和零售业")
        );
        assert_eq!(industry_name("Z", Some("26")), None);
    }

    #[test]
    fn check_says_what_is_wrong() {
        assert_eq!(check("C", Some("26")), Ok(()));
        assert_eq!(check("c", None), Ok(()));
        assert_eq!(
            check("F", Some("26")),
            Err(IndustryError::WrongSection {
                division: "26".into(),
                given: 'F',
                actual: 'C'
            })
        );
        assert_eq!(
            check("U", None),
            Err(IndustryError::UnknownSection("U".into()))
        );
        assert_eq!(
            check("C", Some("98")),
            Err(IndustryError::UnknownDivision("98".into()))
        );
        assert!(division_belongs_to("C", "31"));
        assert!(!division_belongs_to("B", "31"));
    }

    #[test]
    fn malformed_codes_find_nothing() {
        assert!(division("5").is_none());
        assert!(division("526").is_none());
        assert!(division_of_class("52a5").is_none());
        assert!(section("AB").is_none());
        assert!(section("").is_none());
    }
}
