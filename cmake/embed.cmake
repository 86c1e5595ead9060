# Embeds the run report's style and script into the library (report_assets.c), so every
# page it writes is self-contained: cmake -DOUT=file.c -DCSS=report.css -DJS=report.js -P
function(embed name path out)
  file(READ "${path}" hex HEX)
  string(REGEX REPLACE "(..)" "0x\\1," hex "${hex}")
  set(${out} "const char ${name}[] = {${hex}0x00};\n" PARENT_SCOPE)
endfunction()
embed(rp_asset_css "${CSS}" css)
embed(rp_asset_js "${JS}" js)
file(WRITE "${OUT}.tmp" "/* made by cmake/embed.cmake from framework/report/assets/: do not edit */\n${css}${js}")
file(RENAME "${OUT}.tmp" "${OUT}")
