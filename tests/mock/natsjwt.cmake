# tagent_mock_natsjwt: nkeys + NATS JWT v2 (operator/account/user), .creds text and the operator-mode
# nats-server configuration, for the mock control plane and the NATS integration tests.
# Included from tests/mock/CMakeLists.txt.
if(NOT TARGET PkgConfig::OPENSSL)
  pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET GLOBAL openssl>=3.0)
endif()
if(NOT TARGET PkgConfig::CJSON)
  pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET GLOBAL libcjson)
endif()

add_library(tagent_mock_natsjwt STATIC
  ${CMAKE_CURRENT_LIST_DIR}/nkeys.c
  ${CMAKE_CURRENT_LIST_DIR}/natsjwt.c)
target_include_directories(tagent_mock_natsjwt PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(tagent_mock_natsjwt PUBLIC PkgConfig::OPENSSL PkgConfig::CJSON)
