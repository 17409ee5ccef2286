# Writes a C++ file holding every db/migrations/NNNN_name.sql as a string literal, and the
# seed conversion (db/seed/from_seed_set_aside.sql, from_seed_copy.sql).
# Inputs: MIGRATIONS_DIR, SEED_DIR, OUTPUT.
file(GLOB files "${MIGRATIONS_DIR}/*.sql")
list(SORT files)
set(body "#include \"store/migrator.h\"\n\nnamespace jq::store {\nconst std::vector<Migration>& EmbeddedMigrations() {\n  static const std::vector<Migration> kMigrations = {\n")
foreach(f ${files})
  get_filename_component(fname "${f}" NAME_WE)
  string(REGEX MATCH "^([0-9]+)_(.*)$" _ "${fname}")
  set(version "${CMAKE_MATCH_1}")
  set(name "${CMAKE_MATCH_2}")
  math(EXPR version_int "${version}")
  file(READ "${f}" sql)
  string(APPEND body "      {${version_int}, \"${name}\", R\"jqsql(${sql})jqsql\"},\n")
endforeach()
string(APPEND body "  };\n  return kMigrations;\n}\n\n")

file(READ "${SEED_DIR}/from_seed_set_aside.sql" set_aside)
file(READ "${SEED_DIR}/from_seed_copy.sql" copy)
# The copy is written against one version of jq's schema; it says which on its first line.
if(NOT copy MATCHES "^-- jq schema version: ([0-9]+)")
  message(FATAL_ERROR "${SEED_DIR}/from_seed_copy.sql must start with '-- jq schema version: N'")
endif()
set(copy_version "${CMAKE_MATCH_1}")
string(APPEND body "const SeedConversion& EmbeddedSeedConversion() {\n  static const SeedConversion kSeed = {\n")
string(APPEND body "      R\"jqsql(${set_aside})jqsql\",\n      R\"jqsql(${copy})jqsql\",\n      ${copy_version}};\n")
string(APPEND body "  return kSeed;\n}\n}  // namespace jq::store\n")
file(WRITE "${OUTPUT}.tmp" "${body}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
