# IMA log sources of tagent_eventlog (and util.c, shared with the TCG code) (paths relative to eventlog/).
set(TAGENT_IMA_SOURCES
  ima_ascii.c
  ima_binary.c
  ima_json.c
  ima_load.c
  ima_lists.c
  ima_log.c
  ima_replay.c
  ima_template.c
  util.c)
