-- Drive Neovim's built-in LSP client against `perfsquad serve`, headless, for tests/editors/test_editors.py.
--
-- Run as: nvim --headless --clean -u tests/editors/init.lua FILE.py
-- Environment:
--   PERFSQUAD_SERVE_CMD  JSON list: the server command, e.g. [".venv/bin/perfsquad", "serve"]
--   PERFSQUAD_RESULT     where to write the JSON result (never stdout: headless nvim owns it)
--   PERFSQUAD_MODE       "fix": wait for IDM001, apply its quick fix with vim.lsp.buf.code_action, save;
--                        "hover": wait for IDM001, open hover there and on the function name in
--                        floating windows (vim.lsp.buf.hover) and collect the code lenses;
--                        "profile": run `perfsquad.profile` without arguments (what a plain client
--                        sends: the current file), collect the window/showMessage messages, the hover
--                        (text and float filetype) and the code lenses afterwards;
--                        "roadmap": the profile, then `perfsquad.optimizationRoadmap` without arguments:
--                        its items, the summary message and the page the server asks to show
--                        "leakcheck": run `perfsquad.leakcheck` without arguments (the current file, as a
--                        script) and collect its response and the window/showMessage messages
--   PERFSQUAD_TIMEOUT_MS deadline for each wait (default 30000)
-- Every wait polls inside the editor (vim.wait) until its condition holds or the deadline passes.

local result = { steps = {} }
local out_path = assert(os.getenv('PERFSQUAD_RESULT'), 'PERFSQUAD_RESULT is not set')
local timeout = tonumber(os.getenv('PERFSQUAD_TIMEOUT_MS') or '30000')

local function step(name)
  table.insert(result.steps, name)
end

local function finish()
  vim.fn.writefile({ vim.json.encode(result) }, out_path)
  vim.cmd('qall!')
end

local function wait(what, condition)
  if not vim.wait(timeout, condition, 20) then
    error('timed out after ' .. timeout .. ' ms waiting for ' .. what, 0)
  end
  step(what)
end

-- Whether a window/showMessage received so far contains `text`.
local function said(text)
  for _, message in ipairs(result.messages or {}) do
    if message:find(text, 1, true) then
      return true
    end
  end
  return false
end

local function perfsquad_diagnostics(buf, code)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.source == 'perfsquad' and (code == nil or d.code == code) then
      table.insert(found, d)
    end
  end
  return found
end

local function float_text()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      local lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
      return table.concat(lines, '\n'), win
    end
  end
  return nil, nil
end

local function hover_at(row, col)
  vim.api.nvim_win_set_cursor(0, { row, col })
  vim.lsp.buf.hover()
  local text, win
  wait('hover float at ' .. row .. ':' .. col, function()
    text, win = float_text()
    return text ~= nil and text ~= ''
  end)
  vim.api.nvim_win_close(win, true)
  return text
end

local function code_lenses(buf)
  local lenses = {}
  local params = { textDocument = vim.lsp.util.make_text_document_params(buf) }
  for _, res in pairs(vim.lsp.buf_request_sync(buf, 'textDocument/codeLens', params, timeout) or {}) do
    for _, lens in ipairs(res.result or {}) do
      table.insert(lenses, { line = lens.range.start.line, title = lens.command and lens.command.title or vim.NIL })
    end
  end
  return lenses
end

local function run()
  local buf = vim.api.nvim_get_current_buf()
  result.messages = {}
  vim.lsp.handlers['window/showMessage'] = function(_, params)
    table.insert(result.messages, params.message)
  end
  -- The consent to run the workspace's code (#19): answered "Run", as the user would.
  result.requests = {}
  vim.lsp.handlers['window/showMessageRequest'] = function(_, params)
    table.insert(result.requests, params.message)
    for _, action in ipairs(params.actions or {}) do
      if action.title == 'Run' then
        return action
      end
    end
    return vim.NIL
  end
  local cmd = vim.json.decode((assert(os.getenv('PERFSQUAD_SERVE_CMD'), 'PERFSQUAD_SERVE_CMD is not set')))
  local client_id = vim.lsp.start({
    name = 'perfsquad',
    cmd = cmd,
    root_dir = vim.fn.getcwd(),
  })
  if client_id == nil then
    error('vim.lsp.start returned nil', 0)
  end
  result.client_name = vim.lsp.get_client_by_id(client_id).name
  local mode = os.getenv('PERFSQUAD_MODE') or 'fix'
  if mode == 'leakcheck' then
    -- `perfsquad.leakcheck` without arguments (what a plain client sends: the current file, run as a
    -- script); the result arrives as one window/showMessage.
    local published = false
    local publish = vim.lsp.handlers['textDocument/publishDiagnostics']
    vim.lsp.handlers['textDocument/publishDiagnostics'] = function(err, params, ctx, config)
      published = published or params.uri == vim.uri_from_bufnr(buf)
      return publish(err, params, ctx, config)
    end
    wait('file analysed', function() -- (the server has the document open: the command's default)
      return published
    end)
    local client = vim.lsp.get_client_by_id(client_id)
    local response = client:request_sync('workspace/executeCommand', { command = 'perfsquad.leakcheck' }, timeout, buf)
    result.leak_error = response and response.err and response.err.message or vim.NIL
    local value = response and response.result or {}
    result.leak_result = { verdict = value.verdict, summary = value.summary, method = value.method }
    wait('leak check message', function()
      return said('leak check')
    end)
    return
  end
  wait('IDM001 diagnostic', function()
    return #perfsquad_diagnostics(buf, 'IDM001') > 0
  end)
  local diag = perfsquad_diagnostics(buf, 'IDM001')[1]
  result.diagnostic = { code = diag.code, source = diag.source, message = diag.message, lnum = diag.lnum, col = diag.col }

  if mode == 'fix' then
    vim.api.nvim_win_set_cursor(0, { diag.lnum + 1, diag.col })
    local tick = vim.api.nvim_buf_get_changedtick(buf)
    local offered = {}
    vim.lsp.buf.code_action({
      filter = function(action)
        table.insert(offered, action.title)
        return action.title:find('list comprehension', 1, true) ~= nil
      end,
      apply = true,
    })
    wait('quick fix applied', function()
      return vim.api.nvim_buf_get_changedtick(buf) ~= tick
    end)
    result.offered = offered
    vim.cmd('write')
    step('saved')
    wait('IDM001 cleared after the fix', function()
      return #perfsquad_diagnostics(buf, 'IDM001') == 0
    end)
  elseif mode == 'hover' then
    result.finding_hover = hover_at(diag.lnum + 1, diag.col)
    local def = vim.fn.search('^def ', 'bW') -- the function around the finding
    result.function_hover = hover_at(def, 4)
    result.lenses = code_lenses(buf)
  elseif mode == 'profile' or mode == 'roadmap' then
    local client = vim.lsp.get_client_by_id(client_id)
    local response = client:request_sync('workspace/executeCommand', { command = 'perfsquad.profile' }, timeout, buf)
    result.profile_error = response and response.err and response.err.message or vim.NIL
    wait('profile headline message', function()
      return said('profiled')
    end)
    if mode == 'roadmap' then
      -- What Neovim is asked to open (its own handler would hand an external page to vim.ui.open).
      result.documents = {}
      vim.lsp.handlers['window/showDocument'] = function(_, params)
        table.insert(result.documents, { uri = params.uri, external = params.external or false })
        return { success = true }
      end
      response = client:request_sync('workspace/executeCommand', { command = 'perfsquad.optimizationRoadmap' }, timeout, buf)
      result.roadmap_error = response and response.err and response.err.message or vim.NIL
      local answer = response and response.result or {}
      result.roadmap = { measured = answer.measured, html = answer.html, markdown = answer.markdown, items = {} }
      for _, item in ipairs(answer.items or {}) do
        table.insert(result.roadmap.items, { code = item.code, filename = item.filename, line = item.line })
      end
      wait('roadmap summary message', function()
        return said('perfsquad: roadmap:')
      end)
      wait('roadmap page shown', function()
        return #result.documents > 0
      end)
      return
    end
    vim.api.nvim_win_set_cursor(0, { diag.lnum + 1, diag.col })
    vim.lsp.buf.hover()
    local text, win
    wait('hover float', function()
      text, win = float_text()
      return text ~= nil and text ~= ''
    end)
    result.finding_hover = text
    result.hover_filetype = vim.bo[vim.api.nvim_win_get_buf(win)].filetype
    vim.api.nvim_win_close(win, true)
    result.lenses = code_lenses(buf)
  else
    error('unknown PERFSQUAD_MODE ' .. mode, 0)
  end
end

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    local ok, err = xpcall(run, debug.traceback)
    result.ok = ok
    if not ok then
      result.error = tostring(err)
    end
    finish()
  end,
})
