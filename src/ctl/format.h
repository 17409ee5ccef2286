// The text building blocks of jq-ctl's output (SPEC §10): times, bytes, durations, enum names,
// and the two layouts people read, aligned tables and "key: value" blocks. Pure: no I/O.
// Thread-compatible.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jq::ctl {

enum class OutputFormat { kTable, kJson, kYaml };

// UTC "YYYY-MM-DD HH:MM:SS"; "" for an unset (all-zero) timestamp.
std::string FormatTime(const google::protobuf::Timestamp& ts);

// Valid UTF-8 with no control characters other than tab, CR and LF.
bool IsPrintableUtf8(std::string_view bytes);
// The bytes themselves when printable, else "base64:" and their base64 encoding.
std::string BytesToText(std::string_view bytes);

// An enum value's proto name ("DEAD_LETTERED", "ONLINE"); "UNSPECIFIED" for 0 and for a number
// the enum does not define.
std::string EnumText(const google::protobuf::EnumDescriptor& type, int number);
// core's JobStatusName: the same text as EnumText of jq.JobStatus.
std::string JobStatusText(int status);

// "-" for an empty cell or value.
std::string OrDash(std::string s);
std::string YesNo(bool b);
// `v` with exactly `decimals` digits after the point.
std::string Fixed(double v, int decimals);
// "30s"; "-" for 0 (unset or unlimited).
std::string Seconds(int s);

// `s` padded with spaces to `width` UTF-8 code points.
std::string PadRight(std::string s, std::size_t width);

// Columns separated by two spaces and padded to the widest cell (in UTF-8 code points); the
// last column is not padded. Missing cells are empty; control characters in cells become spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] is the header
};

// "key:  value" lines with the values aligned; an empty value is "-"; continuation lines of
// multi-line values are indented to the value column.
std::string KeyValues(const std::vector<std::pair<std::string, std::string>>& kv);

}  // namespace jq::ctl
