#include "ctl/document.h"

#include <google/protobuf/descriptor.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <iterator>

namespace jq::ctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// A google.protobuf.Timestamp is a time, not an object of seconds and nanos.
Document MessageDocument(const Message& message) {
  if (const auto* ts =
          google::protobuf::DynamicCastToGenerated<google::protobuf::Timestamp>(&message)) {
    std::string s = FormatTime(*ts);
    return s.empty() ? Document(nullptr) : Document(s);
  }
  return ToDocument(message);
}

// The value of a singular field (index < 0) or of one element of a repeated field.
Document FieldDocument(const Message& m, const FieldDescriptor& f, int index) {
  const Reflection& r = *m.GetReflection();
  const bool one = index < 0;
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return one ? r.GetInt32(m, &f) : r.GetRepeatedInt32(m, &f, index);
    case FieldDescriptor::CPPTYPE_INT64:
      return one ? r.GetInt64(m, &f) : r.GetRepeatedInt64(m, &f, index);
    case FieldDescriptor::CPPTYPE_UINT32:
      return one ? r.GetUInt32(m, &f) : r.GetRepeatedUInt32(m, &f, index);
    case FieldDescriptor::CPPTYPE_UINT64:
      return one ? r.GetUInt64(m, &f) : r.GetRepeatedUInt64(m, &f, index);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return one ? r.GetDouble(m, &f) : r.GetRepeatedDouble(m, &f, index);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return one ? r.GetFloat(m, &f) : r.GetRepeatedFloat(m, &f, index);
    case FieldDescriptor::CPPTYPE_BOOL:
      return one ? r.GetBool(m, &f) : r.GetRepeatedBool(m, &f, index);
    case FieldDescriptor::CPPTYPE_ENUM:
      return EnumText(*f.enum_type(),
                      one ? r.GetEnumValue(m, &f) : r.GetRepeatedEnumValue(m, &f, index));
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = one ? r.GetString(m, &f) : r.GetRepeatedString(m, &f, index);
      return f.type() == FieldDescriptor::TYPE_BYTES ? BytesToText(s) : s;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return MessageDocument(one ? r.GetMessage(m, &f) : r.GetRepeatedMessage(m, &f, index));
  }
  return nullptr;
}

// Plain scalars that a YAML reader would take for a number, bool or null must be quoted to stay
// strings.
bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  char c = s.front();
  if (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.') return true;
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  static const char* const kWords[] = {"true", "false", "yes", "no",   "on",
                                       "off",  "y",     "n",   "null", "~"};
  return std::any_of(std::begin(kWords), std::end(kWords),
                     [&](const char* w) { return lower == w; });
}

void EmitYaml(YAML::Emitter& e, const Document& j) {
  switch (j.type()) {
    case Document::value_t::object:
      e << YAML::BeginMap;
      for (const auto& [key, value] : j.items()) {
        e << YAML::Key << key << YAML::Value;
        EmitYaml(e, value);
      }
      e << YAML::EndMap;
      break;
    case Document::value_t::array:
      e << YAML::BeginSeq;
      for (const auto& value : j) EmitYaml(e, value);
      e << YAML::EndSeq;
      break;
    case Document::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (NeedsQuotes(s)) e << YAML::DoubleQuoted;
      e << s;
      break;
    }
    case Document::value_t::boolean: e << j.get<bool>(); break;
    case Document::value_t::number_integer: e << j.get<std::int64_t>(); break;
    case Document::value_t::number_unsigned: e << j.get<std::uint64_t>(); break;
    case Document::value_t::number_float: e << j.get<double>(); break;
    default: e << YAML::Null; break;
  }
}

std::string ToYaml(const Document& j) {
  YAML::Emitter e;
  e.SetDoublePrecision(15);
  EmitYaml(e, j);
  return std::string(e.c_str()) + "\n";
}

}  // namespace

Document ToDocument(const Message& message) {
  Document o = Document::object();
  const google::protobuf::Descriptor& d = *message.GetDescriptor();
  for (int i = 0; i < d.field_count(); ++i) {
    const FieldDescriptor& f = *d.field(i);
    Document& value = o[std::string(f.name())];
    if (!f.is_repeated()) {
      value = FieldDocument(message, f, -1);
      continue;
    }
    value = Document::array();
    const int n = message.GetReflection()->FieldSize(message, &f);
    for (int k = 0; k < n; ++k) value.push_back(FieldDocument(message, f, k));
  }
  return o;
}

std::string DocumentText(const Document& doc, OutputFormat format) {
  if (format == OutputFormat::kYaml) return ToYaml(doc);
  return doc.dump(2) + "\n";
}

std::string StreamItemText(const Document& doc, OutputFormat format) {
  if (format == OutputFormat::kYaml) return "---\n" + ToYaml(doc);
  return doc.dump() + "\n";
}

}  // namespace jq::ctl
