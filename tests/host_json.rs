//! The JSON writer against output captured from systemd-repart 262 and varlinkctl 262:
//! parsing what systemd printed and printing it again must give the same bytes.

use repart_rs::json::{self, Value};

/// `--json=pretty` with a foreign partition (`file: null`), drop-ins, a tab in a label and
/// control characters and DEL in definition file names.
const PRETTY_DROPINS: &str = "[\n\t{\n\t\t\"type\" : \"linux-generic\",\n\t\t\"label\" : \"linux-generic\",\n\t\t\"uuid\" : \"6daf1f54-accb-d748-9ceb-b241120e48d3\",\n\t\t\"partno\" : 0,\n\t\t\"file\" : null,\n\t\t\"node\" : \"/tmp/host/e.img1\",\n\t\t\"offset\" : 1048576,\n\t\t\"old_size\" : 10485760,\n\t\t\"raw_size\" : 10485760,\n\t\t\"old_padding\" : 1062187008,\n\t\t\"raw_padding\" : 0,\n\t\t\"activity\" : \"unchanged\",\n\t\t\"drop-in_files\" : null\n\t},\n\t{\n\t\t\"type\" : \"root-x86-64\",\n\t\t\"label\" : \"x\\tb\",\n\t\t\"uuid\" : \"b08c4df5-f14d-44a6-b87b-5d48dbb3ffe9\",\n\t\t\"partno\" : 1,\n\t\t\"file\" : \"/tmp/host/defs2/10-a\\u0001b\\tc\u{7f}d\\u001f.conf\",\n\t\t\"node\" : \"/tmp/host/e.img2\",\n\t\t\"offset\" : 11534336,\n\t\t\"old_size\" : 0,\n\t\t\"raw_size\" : 1062187008,\n\t\t\"old_padding\" : 0,\n\t\t\"raw_padding\" : 0,\n\t\t\"activity\" : \"create\",\n\t\t\"drop-in_files\" : [\n\t\t\t\"/tmp/host/defs2/10-a\\u0001b\\tc\u{7f}d\\u001f.conf.d/a.conf\",\n\t\t\t\"/tmp/host/defs2/10-a\\u0001b\\tc\u{7f}d\\u001f.conf.d/b\\\"q.conf\"\n\t\t]\n\t}\n]\n";

/// The same table with `--json=short`.
const SHORT_DROPINS: &str = "[{\"type\":\"linux-generic\",\"label\":\"linux-generic\",\"uuid\":\"6daf1f54-accb-d748-9ceb-b241120e48d3\",\"partno\":0,\"file\":null,\"node\":\"/tmp/host/e.img1\",\"offset\":1048576,\"old_size\":10485760,\"raw_size\":10485760,\"old_padding\":1062187008,\"raw_padding\":0,\"activity\":\"unchanged\",\"drop-in_files\":null},{\"type\":\"root-x86-64\",\"label\":\"x\\tb\",\"uuid\":\"b08c4df5-f14d-44a6-b87b-5d48dbb3ffe9\",\"partno\":1,\"file\":\"/tmp/host/defs2/10-a\\u0001b\\tc\u{7f}d\\u001f.conf\",\"node\":\"/tmp/host/e.img2\",\"offset\":11534336,\"old_size\":0,\"raw_size\":1062187008,\"old_padding\":0,\"raw_padding\":0,\"activity\":\"create\",\"drop-in_files\":[\"/tmp/host/defs2/10-a\\u0001b\\tc\u{7f}d\\u001f.conf.d/a.conf\",\"/tmp/host/defs2/10-a\\u0001b\\tc\u{7f}d\\u001f.conf.d/b\\\"q.conf\"]}]\n";

/// `--json=pretty` with a label holding a quote, backslashes and non-ASCII text.
const PRETTY_UNICODE: &str = "[\n\t{\n\t\t\"type\" : \"root-x86-64\",\n\t\t\"label\" : \"ro\\\"o\\\\\\\\t\\\\tä€😀\",\n\t\t\"uuid\" : \"b08c4df5-f14d-44a6-b87b-5d48dbb3ffe9\",\n\t\t\"partno\" : 0,\n\t\t\"file\" : \"/tmp/host/defs/10-root.conf\",\n\t\t\"node\" : \"/tmp/host/d.img1\",\n\t\t\"offset\" : 1048576,\n\t\t\"old_size\" : 0,\n\t\t\"raw_size\" : 536334336,\n\t\t\"old_padding\" : 0,\n\t\t\"raw_padding\" : 0,\n\t\t\"activity\" : \"create\"\n\t},\n\t{\n\t\t\"type\" : \"home\",\n\t\t\"label\" : \"home\",\n\t\t\"uuid\" : \"942ca261-2978-4d8a-8c08-e916c5bf9d3a\",\n\t\t\"partno\" : 1,\n\t\t\"file\" : \"/tmp/host/defs/20-home.conf\",\n\t\t\"node\" : \"/tmp/host/d.img2\",\n\t\t\"offset\" : 537382912,\n\t\t\"old_size\" : 0,\n\t\t\"raw_size\" : 536338432,\n\t\t\"old_padding\" : 0,\n\t\t\"raw_padding\" : 0,\n\t\t\"activity\" : \"create\"\n\t}\n]\n";

/// `varlinkctl call --json=pretty exec:/usr/bin/systemd-repart org.varlink.service.GetInfo {}`:
/// an array nested in an object.
const PRETTY_GETINFO: &str = "{\n\t\"vendor\" : \"The systemd Project\",\n\t\"product\" : \"systemd (systemd-repart)\",\n\t\"version\" : \"262.1 (262.1-1)\",\n\t\"url\" : \"https://systemd.io/\",\n\t\"interfaces\" : [\n\t\t\"io.systemd\",\n\t\t\"io.systemd.Repart\",\n\t\t\"org.varlink.service\"\n\t]\n}\n";

fn reprint(captured: &str, print: fn(&Value) -> String) -> String {
    let value = json::parse(captured.as_bytes()).expect("systemd's output parses");
    print(&value) + "\n"
}

#[test]
fn pretty_output_is_byte_identical() {
    for captured in [PRETTY_DROPINS, PRETTY_UNICODE, PRETTY_GETINFO] {
        assert_eq!(reprint(captured, Value::to_pretty), captured);
    }
}

#[test]
fn short_output_is_byte_identical() {
    assert_eq!(reprint(SHORT_DROPINS, Value::to_short), SHORT_DROPINS);
}

#[test]
fn pretty_and_short_carry_the_same_value() {
    let pretty = json::parse(PRETTY_DROPINS.as_bytes()).unwrap();
    let short = json::parse(SHORT_DROPINS.as_bytes()).unwrap();
    assert_eq!(pretty, short);
    let second = &pretty.as_array().unwrap()[1];
    assert_eq!(
        second.get("file").and_then(Value::as_str),
        Some("/tmp/host/defs2/10-a\u{1}b\tc\u{7f}d\u{1f}.conf")
    );
    assert_eq!(
        second.get("raw_size").and_then(Value::as_u64),
        Some(1062187008)
    );
}
