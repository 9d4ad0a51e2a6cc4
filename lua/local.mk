# Lua: the config DSL, the worker's LuaJIT state and the request bindings.
core_libfoyercore_a_SOURCES += \
	lua/config_lua.c \
	lua/decision_lua.c lua/decision_lua.h \
	lua/lua_state.c lua/lua_state.h \
	lua/request_lua.c
